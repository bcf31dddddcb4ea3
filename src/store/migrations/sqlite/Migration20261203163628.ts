import { Migration } from '@mikro-orm/migrations';

export class Migration20261203163628 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`checkpoints\` add column \`environment_image\` text not null default '';`);
    this.addSql(`alter table \`checkpoints\` add column \`environment_image_id\` text not null default '';`);
    this.addSql(`alter table \`checkpoints\` add column \`module_versions\` json null;`);
  }

}
