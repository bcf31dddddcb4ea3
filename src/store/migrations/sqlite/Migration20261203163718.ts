import { Migration } from '@mikro-orm/migrations';

export class Migration20261203163718 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`operations\` add column \`progress\` text not null default '';`);
  }

}
