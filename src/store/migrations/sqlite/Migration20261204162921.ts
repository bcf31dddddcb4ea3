import { Migration } from '@mikro-orm/migrations';

export class Migration20261204162921 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`log_cursors\` (\`instance_id\` text not null, \`node_id\` text not null, \`runtime_id\` text not null, \`position\` text not null, \`update_time\` datetime not null, primary key (\`instance_id\`));`);
    this.addSql(`create index \`log_cursors_node_index\` on \`log_cursors\` (\`node_id\`);`);

    this.addSql(`create table \`node_events\` (\`id\` text not null, \`node_id\` text not null, \`instance_id\` text not null, \`time\` datetime not null, \`type\` text not null, \`reason\` text not null, \`message\` text not null, primary key (\`id\`));`);
    this.addSql(`create index \`node_events_node_index\` on \`node_events\` (\`node_id\`, \`id\`);`);

    this.addSql(`create table \`node_log_lines\` (\`id\` text not null, \`node_id\` text not null, \`instance_id\` text not null, \`stream\` text not null, \`time\` datetime not null, \`text\` text not null, \`bytes\` integer not null, primary key (\`id\`));`);
    this.addSql(`create index \`node_log_lines_node_index\` on \`node_log_lines\` (\`node_id\`, \`id\`);`);
  }

}
