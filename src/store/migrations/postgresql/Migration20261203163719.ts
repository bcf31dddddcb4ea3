import { Migration } from '@mikro-orm/migrations';

export class Migration20261203163719 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "operations" add column "progress" text not null default '';`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "operations" drop column "progress";`);
  }

}
