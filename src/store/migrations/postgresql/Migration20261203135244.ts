import { Migration } from '@mikro-orm/migrations';

export class Migration20261203135244 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "access_bindings" ("folder_id" varchar(64) not null, "principal_id" varchar(64) not null, "role" varchar(16) not null, "create_time" timestamptz not null, constraint "access_bindings_pkey" primary key ("folder_id", "principal_id"));`);
    this.addSql(`create index "access_bindings_principal_index" on "access_bindings" ("principal_id");`);

    this.addSql(`create table "api_keys" ("id" varchar(64) not null, "principal_id" varchar(64) not null, "description" text not null, "secret_hash" varchar(64) not null, "create_time" timestamptz not null, "expire_time" timestamptz null, "revoke_time" timestamptz null, "rate_limit_per_second" double precision not null, "rate_limit_burst" int not null, "call_count" bigint not null, "last_used_time" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`);
    this.addSql(`create index "api_keys_principal_index" on "api_keys" ("principal_id");`);

    this.addSql(`create table "audit_records" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "principal_id" varchar(64) not null, "principal_name" varchar(63) not null, "key_id" varchar(64) not null, "method" varchar(128) not null, "resource_id" varchar(64) not null, "result" varchar(32) not null, "message" text not null, "request_id" varchar(128) not null, "time" timestamptz not null, constraint "audit_records_pkey" primary key ("id"));`);
    this.addSql(`create index "audit_records_folder_index" on "audit_records" ("folder_id");`);

    this.addSql(`create table "principals" ("id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "kind" varchar(32) not null, "server_admin" boolean not null, "create_time" timestamptz not null, "version" int not null default 1, constraint "principals_pkey" primary key ("id"));`);
    this.addSql(`alter table "principals" add constraint "principals_name_unique" unique ("name");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "access_bindings" cascade;`);

    this.addSql(`drop table if exists "api_keys" cascade;`);

    this.addSql(`drop table if exists "audit_records" cascade;`);

    this.addSql(`drop table if exists "principals" cascade;`);
  }

}
