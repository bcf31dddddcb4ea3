import { Migration } from '@mikro-orm/migrations';

export class Migration20261203132824 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`secrets\` (\`id\` text not null, \`folder_id\` text not null, \`name\` text not null, \`description\` text not null, \`labels\` json not null, \`current_version\` integer not null, \`entries\` json not null, \`create_time\` datetime not null, \`update_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`secrets_folder_index\` on \`secrets\` (\`folder_id\`);`);
    this.addSql(`create unique index \`secrets_folder_name_unique\` on \`secrets\` (\`folder_id\`, \`name\`);`);
  }

}
