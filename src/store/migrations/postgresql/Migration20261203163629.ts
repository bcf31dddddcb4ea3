import { Migration } from '@mikro-orm/migrations';

export class Migration20261203163629 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "checkpoints" add column "environment_image" varchar(512) not null default '', add column "environment_image_id" varchar(80) not null default '', add column "module_versions" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "checkpoints" drop column "environment_image", drop column "environment_image_id", drop column "module_versions";`);
  }

}
