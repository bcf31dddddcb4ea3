import { Migration } from '@mikro-orm/migrations';

export class Migration20261203132824 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "secrets" ("id" varchar(64) not null, "folder_id" varchar(64) not null, "name" varchar(63) not null, "description" text not null, "labels" jsonb not null, "current_version" int not null, "entries" jsonb not null, "create_time" timestamptz not null, "update_time" timestamptz not null, "version" int not null default 1, constraint "secrets_pkey" primary key ("id"));`);
    this.addSql(`create index "secrets_folder_index" on "secrets" ("folder_id");`);
    this.addSql(`alter table "secrets" add constraint "secrets_folder_name_unique" unique ("folder_id", "name");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "secrets" cascade;`);
  }

}
