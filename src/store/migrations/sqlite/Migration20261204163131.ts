import { Migration } from '@mikro-orm/migrations';

export class Migration20261204163131 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`usage_intervals\` (\`id\` text not null, \`folder_id\` text not null, \`node_id\` text not null, \`instance_id\` text not null, \`runtime_id\` text not null, \`configuration_name\` text not null, \`units\` double not null, \`start_time\` datetime not null, \`end_time\` datetime null, \`last_seen_time\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`usage_intervals_folder_index\` on \`usage_intervals\` (\`folder_id\`, \`start_time\`);`);
    this.addSql(`create index \`usage_intervals_open_index\` on \`usage_intervals\` (\`end_time\`);`);
    this.addSql(`create unique index \`usage_intervals_run_unique\` on \`usage_intervals\` (\`instance_id\`, \`runtime_id\`);`);
  }

}
