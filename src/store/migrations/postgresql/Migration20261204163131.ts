import { Migration } from '@mikro-orm/migrations';

export class Migration20261204163131 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "usage_intervals" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "node_id" varchar(64) not null, "instance_id" varchar(64) not null, "runtime_id" varchar(128) not null, "configuration_name" varchar(63) not null, "units" double precision not null, "start_time" timestamptz not null, "end_time" timestamptz null, "last_seen_time" timestamptz not null, constraint "usage_intervals_pkey" primary key ("id"));`);
    this.addSql(`create index "usage_intervals_folder_index" on "usage_intervals" ("folder_id", "start_time");`);
    this.addSql(`create index "usage_intervals_open_index" on "usage_intervals" ("end_time");`);
    this.addSql(`alter table "usage_intervals" add constraint "usage_intervals_run_unique" unique ("instance_id", "runtime_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "usage_intervals" cascade;`);
  }

}
