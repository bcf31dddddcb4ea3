import { Migration } from '@mikro-orm/migrations';

export class Migration20261125082049 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "aliases" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "targets" jsonb not null, "metadata" jsonb not null, "access" varchar(16) not null, "create_time" timestamptz not null, "update_time" timestamptz not null, "version" int not null default 1, constraint "aliases_pkey" primary key ("id"));`);
    this.addSql(`create index "aliases_folder_index" on "aliases" ("folder_id");`);
    this.addSql(`alter table "aliases" add constraint "aliases_folder_name_unique" unique ("folder_id", "name");`);

    this.addSql(`create table "checkpoints" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "cell_sources" jsonb not null, "served_cell_index" int not null, "state" varchar(16) not null, "digest" varchar(80) not null, "size_bytes" bigint not null, "python_version" varchar(32) not null, "variables" jsonb not null, "create_time" timestamptz not null, "version" int not null default 1, constraint "checkpoints_pkey" primary key ("id"));`);
    this.addSql(`create index "checkpoints_folder_index" on "checkpoints" ("folder_id");`);
    this.addSql(`alter table "checkpoints" add constraint "checkpoints_folder_name_unique" unique ("folder_id", "name");`);

    this.addSql(`create table "folders" ("id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "labels" jsonb not null, "create_time" timestamptz not null, "update_time" timestamptz not null, "version" int not null default 1, constraint "folders_pkey" primary key ("id"));`);
    this.addSql(`alter table "folders" add constraint "folders_name_unique" unique ("name");`);

    this.addSql(`create table "instances" ("id" varchar(64) not null, "node_id" varchar(64) not null, "folder_id" varchar(64) not null, "generation" int not null, "state" varchar(16) not null, "reason" text not null, "runtime_id" varchar(128) not null, "address" varchar(128) not null, "start_time" timestamptz null, "restart_count" int not null, "last_health_check" jsonb null, "create_time" timestamptz not null, "update_time" timestamptz not null, "version" int not null default 1, constraint "instances_pkey" primary key ("id"));`);
    this.addSql(`create index "instances_node_index" on "instances" ("node_id");`);

    this.addSql(`create table "nodes" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "labels" jsonb not null, "kind" varchar(16) not null, "spec" jsonb not null, "generation" int not null, "suspended" boolean not null, "deleting" boolean not null, "create_time" timestamptz not null, "update_time" timestamptz not null, "version" int not null default 1, constraint "nodes_pkey" primary key ("id"));`);
    this.addSql(`create index "nodes_folder_index" on "nodes" ("folder_id");`);
    this.addSql(`alter table "nodes" add constraint "nodes_folder_name_unique" unique ("folder_id", "name");`);

    this.addSql(`create table "node_statuses" ("node_id" varchar(64) not null, "status" jsonb not null, "version" int not null default 1, constraint "node_statuses_pkey" primary key ("node_id"));`);

    this.addSql(`create table "operations" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "description" varchar(32) not null, "resource_id" varchar(64) not null, "create_time" timestamptz not null, "modify_time" timestamptz not null, "done" boolean not null, "cancel_requested" boolean not null, "result" jsonb not null, "version" int not null default 1, constraint "operations_pkey" primary key ("id"));`);
    this.addSql(`create index "operations_folder_index" on "operations" ("folder_id");`);
    this.addSql(`create index "operations_resource_index" on "operations" ("resource_id");`);
  }

}
