import { Migration } from '@mikro-orm/migrations';

export class Migration20261203135243 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`access_bindings\` (\`folder_id\` text not null, \`principal_id\` text not null, \`role\` text not null, \`create_time\` datetime not null, primary key (\`folder_id\`, \`principal_id\`));`);
    this.addSql(`create index \`access_bindings_principal_index\` on \`access_bindings\` (\`principal_id\`);`);

    this.addSql(`create table \`api_keys\` (\`id\` text not null, \`principal_id\` text not null, \`description\` text not null, \`secret_hash\` text not null, \`create_time\` datetime not null, \`expire_time\` datetime null, \`revoke_time\` datetime null, \`rate_limit_per_second\` double not null, \`rate_limit_burst\` integer not null, \`call_count\` bigint not null, \`last_used_time\` datetime null, primary key (\`id\`));`);
    this.addSql(`create index \`api_keys_principal_index\` on \`api_keys\` (\`principal_id\`);`);

    this.addSql(`create table \`audit_records\` (\`id\` text not null, \`folder_id\` text not null, \`principal_id\` text not null, \`principal_name\` text not null, \`key_id\` text not null, \`method\` text not null, \`resource_id\` text not null, \`result\` text not null, \`message\` text not null, \`request_id\` text not null, \`time\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`audit_records_folder_index\` on \`audit_records\` (\`folder_id\`);`);

    this.addSql(`create table \`principals\` (\`id\` text not null, \`name\` text not null, \`description\` text not null, \`kind\` text not null, \`server_admin\` integer not null, \`create_time\` datetime not null, \`version\` integer not null default 1, primary key (\`id\`));`);
    this.addSql(`create unique index \`principals_name_unique\` on \`principals\` (\`name\`);`);
  }

}
