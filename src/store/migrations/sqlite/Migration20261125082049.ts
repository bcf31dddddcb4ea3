import { Migration } from '@mikro-orm/migrations';

export class Migration20261125082049 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`aliases\` (\`id\` text not null, \`folder_id\` text not null, \`name\` text not null, \`description\` text not null, \`targets\` json not null, \`metadata\` json not null, \`access\` text not null, \`create_time\` datetime not null, \`update_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`aliases_folder_index\` on \`aliases\` (\`folder_id\`);`);
    this.addSql(`create unique index \`aliases_folder_name_unique\` on \`aliases\` (\`folder_id\`, \`name\`);`);

    this.addSql(`create table \`checkpoints\` (\`id\` text not null, \`folder_id\` text not null, \`name\` text not null, \`description\` text not null, \`cell_sources\` json not null, \`served_cell_index\` integer not null, \`state\` text not null, \`digest\` text not null, \`size_bytes\` bigint not null, \`python_version\` text not null, \`variables\` json not null, \`create_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`checkpoints_folder_index\` on \`checkpoints\` (\`folder_id\`);`);
    this.addSql(`create unique index \`checkpoints_folder_name_unique\` on \`checkpoints\` (\`folder_id\`, \`name\`);`);

    this.addSql(`create table \`folders\` (\`id\` text not null, \`name\` text not null, \`description\` text not null, \`labels\` json not null, \`create_time\` datetime not null, \`update_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create unique index \`folders_name_unique\` on \`folders\` (\`name\`);`);

    this.addSql(`create table \`instances\` (\`id\` text not null, \`node_id\` text not null, \`folder_id\` text not null, \`generation\` integer not null, \`state\` text not null, \`reason\` text not null, \`runtime_id\` text not null, \`address\` text not null, \`start_time\` datetime null, \`restart_count\` integer not null, \`last_health_check\` json null, \`create_time\` datetime not null, \`update_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`instances_node_index\` on \`instances\` (\`node_id\`);`);

    this.addSql(`create table \`nodes\` (\`id\` text not null, \`folder_id\` text not null, \`name\` text not null, \`description\` text not null, \`labels\` json not null, \`kind\` text not null, \`spec\` json not null, \`generation\` integer not null, \`suspended\` integer not null, \`deleting\` integer not null, \`create_time\` datetime not null, \`update_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`nodes_folder_index\` on \`nodes\` (\`folder_id\`);`);
    this.addSql(`create unique index \`nodes_folder_name_unique\` on \`nodes\` (\`folder_id\`, \`name\`);`);

    this.addSql(`create table \`node_statuses\` (\`node_id\` text not null, \`status\` json not null, \`version\` integer not null default 1, primary key (\`node_id\`));`);

    this.addSql(`create table \`operations\` (\`id\` text not null, \`folder_id\` text not null, \`description\` text not null, \`resource_id\` text not null, \`create_time\` datetime not null, \`modify_time\` datetime not null, \`done\` integer not null, \`cancel_requested\` integer not null, \`result\` json not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create index \`operations_folder_index\` on \`operations\` (\`folder_id\`);`);
    this.addSql(`create index \`operations_resource_index\` on \`operations\` (\`resource_id\`);`);
  }

}
