import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { call, connect } from '../../client';
import { describeError, UsageError } from '../cli-errors';
import { configPath, findLocalAdminKey, isLoopbackAddress, readContexts, writeContexts, type Context } from '../contexts';
import { printResources, type Column } from '../output';
import { examples, formatOf, type Options } from './common';

function readKey(opts: Options, server: string): string | undefined {
  if (opts.key !== undefined && opts.keyFile !== undefined) throw new UsageError('give --key - or --key-file, not both');
  if (opts.key !== undefined) {
    if (opts.key !== '-') throw new UsageError('--key takes "-" (the key on stdin), so that it stays out of shell history; or use --key-file FILE');
    return readFileSync(0, 'utf8').trim();
  }
  if (opts.keyFile !== undefined) return readFileSync(opts.keyFile as string, 'utf8').trim();
  if (process.env.BERTH_KEY) return process.env.BERTH_KEY;
  return isLoopbackAddress(server) ? findLocalAdminKey() : undefined;
}

async function login(opts: Options): Promise<void> {
  const server = opts.server as string;
  const key = readKey(opts, server);
  const ca = opts.ca ? path.resolve(opts.ca as string) : undefined;
  const berth = connect({ address: server, apiKey: key, tls: ca ? { ca: readFileSync(ca) } : opts.tls === true });
  try {
    const caller = await call(berth.iam, 'getCaller', {}, { deadline: Date.now() + 15_000 });
    const name = (opts.name as string | undefined) ?? server;
    const file = readContexts();
    const context: Context = { server };
    if (key) context.key = key;
    if (ca) context.ca = ca;
    else if (opts.tls) context.tls = true;
    if (opts.folder) context.folder = opts.folder as string;
    if (opts.nodeApi) context.nodeApi = opts.nodeApi as string;
    file.contexts[name] = context;
    file.current = name;
    writeContexts(file);
    const who = caller.principal ? `${caller.principal.name}${caller.principal.serverAdmin ? ' (server admin)' : ''}` : 'anyone (--auth none)';
    process.stdout.write(`logged in to ${server} as ${who}; context ${JSON.stringify(name)} saved in ${configPath()} and now current\n`);
  } finally {
    berth.close();
  }
}

/** Runs a command body that needs no session, with the same error handling. */
function plain(body: (opts: Options, args: string[]) => Promise<void> | void) {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const opts = command.optsWithGlobals() as Options;
    try {
      await body(opts, command.args);
    } catch (err) {
      const { code, message } = describeError(err, opts.server as string | undefined);
      process.stderr.write(`berth: ${message}\n`);
      process.exitCode = code;
    }
  };
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('check a key against a Berth and save both as a context (the current one)')
    .requiredOption('--server <host:port>', "Berth's gRPC address")
    .option('--key <->', 'read the API key from stdin')
    .option('--key-file <file>', 'read the API key from a file')
    .option('--ca <file>', 'CA certificate to trust (the server speaks TLS)')
    .option('--tls', "TLS with the system's CAs")
    .option('--name <context>', 'name of the context (default: the server address)')
    .option('--node-api <host:port>', 'the node API (default: the server host, port 8081)')
    .addHelpText(
      'after',
      `${examples(
        'berth login --server 127.0.0.1:50051 --key-file .berth/admin.key',
        'echo "$KEY" | berth login --server berth.example:50051 --key - --ca ca.pem --name prod',
      )}\nWithout --key or --key-file: $BERTH_KEY, else (for a server on this machine) .berth/admin.key.\nContexts are kept in $BERTH_CONFIG or ~/.config/berth/config.yaml (mode 0600).\n`,
    )
    .action(plain((opts) => login(opts)));

  const contexts = program
    .command('context')
    .alias('contexts')
    .description('the saved contexts: which Berth, key and folder commands use')
    .addHelpText('after', examples('berth context list', 'berth context use prod', 'berth --context prod nodes list'));
  contexts
    .command('list')
    .alias('ls')
    .description('saved contexts; * marks the current one')
    .action(
      plain((opts) => {
        const file = readContexts();
        const rows = Object.entries(file.contexts).map(([name, c]) => ({ name, ...c }));
        const columns: Column<(typeof rows)[number]>[] = [
          ['CURRENT', (r) => (r.name === file.current ? '*' : '')],
          ['NAME', (r) => r.name],
          ['SERVER', (r) => r.server],
          ['FOLDER', (r) => r.folder ?? ''],
          ['TLS', (r) => (r.ca ? r.ca : r.tls ? 'system CAs' : '')],
        ];
        // Keys stay out of every listing.
        printResources(formatOf(opts), rows, { columns, json: ({ key: _key, ...r }) => r as never, name: (r) => r.name });
      }),
    );
  contexts
    .command('use <name>')
    .description('make a context the current one')
    .action(
      plain((_opts, [name]) => {
        const file = readContexts();
        if (!file.contexts[name!]) throw new UsageError(`no context ${JSON.stringify(name)} (berth context list)`);
        file.current = name;
        writeContexts(file);
        process.stdout.write(`current context: ${name}\n`);
      }),
    );
  contexts
    .command('delete <name>')
    .description('forget a context and its key')
    .action(
      plain((_opts, [name]) => {
        const file = readContexts();
        if (!file.contexts[name!]) throw new UsageError(`no context ${JSON.stringify(name)}`);
        delete file.contexts[name!];
        if (file.current === name) file.current = undefined;
        writeContexts(file);
        process.stdout.write(`context ${name} deleted\n`);
      }),
    );
}
