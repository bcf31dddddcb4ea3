import { Migration } from '@mikro-orm/migrations';

export class Migration20261204162921 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "log_cursors" ("instance_id" varchar(64) not null, "node_id" varchar(64) not null, "runtime_id" varchar(128) not null, "position" varchar(128) not null, "update_time" timestamptz not null, constraint "log_cursors_pkey" primary key ("instance_id"));`);
    this.addSql(`create index "log_cursors_node_index" on "log_cursors" ("node_id");`);

    this.addSql(`create table "node_events" ("id" varchar(32) not null, "node_id" varchar(64) not null, "instance_id" varchar(64) not null, "time" timestamptz not null, "type" varchar(16) not null, "reason" varchar(64) not null, "message" text not null, constraint "node_events_pkey" primary key ("id"));`);
    this.addSql(`create index "node_events_node_index" on "node_events" ("node_id", "id");`);

    this.addSql(`create table "node_log_lines" ("id" varchar(32) not null, "node_id" varchar(64) not null, "instance_id" varchar(64) not null, "stream" varchar(8) not null, "time" timestamptz not null, "text" text not null, "bytes" int not null, constraint "node_log_lines_pkey" primary key ("id"));`);
    this.addSql(`create index "node_log_lines_node_index" on "node_log_lines" ("node_id", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "log_cursors" cascade;`);

    this.addSql(`drop table if exists "node_events" cascade;`);

    this.addSql(`drop table if exists "node_log_lines" cascade;`);
  }

}
