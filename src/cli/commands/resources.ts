import type { Command } from 'commander';
import { call } from '../../client';
import { Folder } from '../../../gen/berth/v1/folder';
import { ApiKey } from '../../../gen/berth/v1/iam';
import { Operation } from '../../../gen/berth/v1/operation';
import { Secret } from '../../../gen/berth/v1/secret';
import { UsageError } from '../cli-errors';
import { age, printJson, printResources, printYaml, type Column } from '../output';
import { toProtoJson } from '../proto-json';
import { listAll } from '../session';
import { operationWaitable, waitAll } from '../wait';
import { examples, formatOf, keyValue, textOrFile, withSession } from './common';

const folderJson = (f: Folder) => toProtoJson(Folder, 'berth.v1.Folder', f);
const secretJson = (s: Secret) => toProtoJson(Secret, 'berth.v1.Secret', s);
const keyJson = (k: ApiKey) => toProtoJson(ApiKey, 'berth.v1.ApiKey', k);
const operationJson = (o: Operation) => toProtoJson(Operation, 'berth.v1.Operation', o);

/** `KEY=value` or `KEY=@file` → a secret entry. */
export function secretEntry(text: string): { key: string; value: string } {
  const [key, value] = keyValue(text, 'KEY=VALUE or KEY=@FILE');
  return { key, value: textOrFile(value) };
}

export function registerFolders(program: Command): void {
  const folders = program
    .command('folders')
    .alias('folder')
    .description('folders: where nodes, aliases, checkpoints and secrets live, and what access is granted on')
    .addHelpText('after', examples('berth folders list', 'berth folders create team-a', 'berth --folder team-a nodes list'));
  const columns: Column<Folder>[] = [
    ['NAME', (f) => f.name],
    ['ID', (f) => f.id],
    ['DESCRIPTION', (f) => f.description],
    ['AGE', (f) => age(f.createTime)],
  ];
  const print = (format: ReturnType<typeof formatOf>, items: Folder[], single = false) =>
    printResources(format, items, { columns, json: folderJson, name: (f) => f.name, single });

  folders
    .command('list')
    .alias('ls')
    .description('the folders you can see')
    .action(
      withSession(async (session, opts) => {
        const all = await listAll(async (pageToken) => {
          const r = await call(session.berth.folders, 'listFolders', { pageSize: 1000, pageToken, filter: '' });
          return { items: r.folders, next: r.nextPageToken };
        });
        print(formatOf(opts), all);
      }),
    );
  folders
    .command('get <folder>')
    .description('one folder, by name or id')
    .action(withSession(async (session, opts, [ref]) => print(formatOf(opts), [await session.findFolder(ref!)], true)));
  folders
    .command('create <name>')
    .description('create a folder')
    .option('--description <text>', 'free text')
    .addHelpText('after', examples('berth folders create team-a --description "the A team"'))
    .action(
      withSession(async (session, opts, [name]) => {
        const folder = await call(session.berth.folders, 'createFolder', { folder: Folder.fromPartial({ name, description: opts.description ?? '' }) });
        print(formatOf(opts), [folder], true);
      }),
    );
  folders
    .command('delete <folder...>')
    .description('delete empty folders')
    .action(
      withSession(async (session, _opts, refs) => {
        for (const ref of refs) {
          const folder = await session.findFolder(ref);
          await call(session.berth.folders, 'deleteFolder', { folderId: folder.id, etag: '' });
          process.stdout.write(`folder ${folder.name} deleted\n`);
        }
      }),
    );
}

export function registerSecrets(program: Command): void {
  const secrets = program
    .command('secrets')
    .alias('secret')
    .description('secrets: write-only key/value entries nodes read (registry credentials, environment variables)')
    .addHelpText('after', examples('berth secrets create api token=@token.txt', 'berth secrets list'));
  const columns: Column<Secret>[] = [
    ['NAME', (s) => s.name],
    ['KEYS', (s) => s.entries.map((e) => e.key).join(',')],
    ['VERSION', (s) => String(s.version)],
    ['ID', (s) => s.id],
    ['AGE', (s) => age(s.createTime)],
  ];
  const print = (format: ReturnType<typeof formatOf>, items: Secret[], single = false) =>
    printResources(format, items, { columns, json: secretJson, name: (s) => s.name, single });

  secrets
    .command('list')
    .alias('ls')
    .description("the folder's secrets (keys, never values)")
    .action(withSession(async (session, opts) => print(formatOf(opts), await session.listSecrets())));
  secrets
    .command('get <secret>')
    .description('one secret: its keys and version')
    .action(withSession(async (session, opts, [ref]) => print(formatOf(opts), [await session.findSecret(ref!)], true)));
  secrets
    .command('create <name> <KEY=VALUE...>')
    .description('create a secret; a value @FILE is read from the file (@- from stdin)')
    .addHelpText('after', examples('berth secrets create registry username=ci password=@password.txt'))
    .action(
      withSession(async (session, opts, [name, ...entries]) => {
        const secret = await call(session.berth.secrets, 'createSecret', {
          folderId: await session.folderId(),
          name: name!,
          description: '',
          labels: {},
          entries: entries.map(secretEntry),
        });
        print(formatOf(opts), [secret], true);
      }),
    );
  secrets
    .command('delete <secret...>')
    .description('delete secrets no node uses')
    .action(
      withSession(async (session, _opts, refs) => {
        for (const ref of refs) {
          const secret = await session.findSecret(ref);
          await call(session.berth.secrets, 'deleteSecret', { secretId: secret.id, etag: '' });
          process.stdout.write(`secret ${secret.name} deleted\n`);
        }
      }),
    );
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .alias('key')
    .description("API keys of a principal (default: the caller's own)")
    .addHelpText('after', examples('berth keys list', 'berth keys create --description laptop', 'berth keys delete <key id>'));
  const columns: Column<ApiKey>[] = [
    ['ID', (k) => k.id],
    ['DESCRIPTION', (k) => k.description],
    ['CALLS', (k) => String(k.callCount)],
    ['REVOKED', (k) => (k.revokeTime ? 'yes' : '')],
    ['AGE', (k) => age(k.createTime)],
  ];
  const principalOf = async (session: import('../session').Session, given: string | undefined) => {
    if (given) return given;
    const caller = await call(session.berth.iam, 'getCaller', {});
    if (!caller.principal) throw new UsageError('this key belongs to no principal: give --principal');
    return caller.principal.id;
  };
  keys
    .command('list')
    .alias('ls')
    .description("a principal's keys")
    .option('--principal <id>', 'principal id (default: yours)')
    .action(
      withSession(async (session, opts) => {
        const principalId = await principalOf(session, opts.principal);
        const all = await listAll(async (pageToken) => {
          const r = await call(session.berth.iam, 'listKeys', { principalId, pageSize: 1000, pageToken });
          return { items: r.keys, next: r.nextPageToken };
        });
        printResources(formatOf(opts), all, { columns, json: keyJson, name: (k) => k.id });
      }),
    );
  keys
    .command('get <key-id>')
    .description('one key (without its secret)')
    .option('--principal <id>', 'principal id (default: yours)')
    .action(
      withSession(async (session, opts, [id]) => {
        const principalId = await principalOf(session, opts.principal);
        const { keys: all } = await call(session.berth.iam, 'listKeys', { principalId, pageSize: 1000, pageToken: '' });
        const key = all.find((k) => k.id === id);
        if (!key) throw new UsageError(`no key ${JSON.stringify(id)} of principal ${principalId}`);
        printResources(formatOf(opts), [key], { columns, json: keyJson, name: (k) => k.id, single: true });
      }),
    );
  keys
    .command('create')
    .description('make a key; its secret is shown once')
    .option('--principal <id>', 'principal id (default: yours)')
    .option('--description <text>', 'free text')
    .addHelpText('after', examples('berth keys create --description ci > ci.key'))
    .action(
      withSession(async (session, opts) => {
        const principalId = await principalOf(session, opts.principal);
        const r = await call(session.berth.iam, 'createKey', { principalId, key: ApiKey.fromPartial({ principalId, description: opts.description ?? '' }) });
        const format = formatOf(opts, 'name');
        if (format === 'json') printJson({ key: keyJson(r.key!), secret: r.secret });
        else if (format === 'yaml') printYaml({ key: keyJson(r.key!), secret: r.secret });
        else process.stdout.write(`${r.secret}\n`);
      }),
    );
  keys
    .command('delete <key-id...>')
    .alias('revoke')
    .description('revoke keys: they are refused from now on')
    .action(
      withSession(async (session, _opts, ids) => {
        for (const keyId of ids) {
          await call(session.berth.iam, 'revokeKey', { keyId });
          process.stdout.write(`key ${keyId} revoked\n`);
        }
      }),
    );
}

export function registerOperations(program: Command): void {
  const operations = program
    .command('operations')
    .alias('operation')
    .alias('ops')
    .description('operations: the long-running work of creates, deletes, suspends, resumes and captures')
    .addHelpText('after', examples('berth operations list', 'berth operations wait <operation id>'));
  const columns: Column<Operation>[] = [
    ['ID', (o) => o.id],
    ['DESCRIPTION', (o) => o.description],
    ['RESOURCE', (o) => o.resourceId],
    ['DONE', (o) => (o.done ? (o.error ? 'failed' : 'yes') : 'no')],
    ['AGE', (o) => age(o.createTime)],
  ];
  const print = (format: ReturnType<typeof formatOf>, items: Operation[], single = false) =>
    printResources(format, items, { columns, json: operationJson, name: (o) => o.id, single });
  operations
    .command('list')
    .alias('ls')
    .description("the folder's operations")
    .action(
      withSession(async (session, opts) => {
        const folderId = await session.folderId();
        const all = await listAll(async (pageToken) => {
          const r = await call(session.berth.operations, 'listOperations', { folderId, pageSize: 1000, pageToken, filter: '' });
          return { items: r.operations, next: r.nextPageToken };
        });
        print(formatOf(opts), all);
      }),
    );
  operations
    .command('get <operation-id>')
    .description('one operation')
    .action(withSession(async (session, opts, [id]) => print(formatOf(opts), [await call(session.berth.operations, 'getOperation', { operationId: id! })], true)));
  operations
    .command('wait <operation-id>')
    .description('wait for an operation, showing its progress; exit 1 when it fails')
    .action(
      withSession(async (session, _opts, [id]) => {
        const op = await call(session.berth.operations, 'getOperation', { operationId: id! });
        await waitAll([operationWaitable(session, op, `${op.description} ${op.resourceId}`)]);
      }),
    );
  operations
    .command('cancel <operation-id>')
    .description('cancel an operation')
    .action(withSession(async (session, opts, [id]) => print(formatOf(opts), [await call(session.berth.operations, 'cancelOperation', { operationId: id! })], true)));
}
