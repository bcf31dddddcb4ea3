import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Command } from 'commander';
import { call } from '../../client';
import { NodeExecutionErrorDetails, VariableType, type Node, type Variable } from '../../../gen/berth/v1/node';
import { Status } from '../../../gen/google/rpc/status';
import { CliError, EXIT, isServiceError, UsageError } from '../cli-errors';
import { printJson, printYaml } from '../output';
import type { Session } from '../session';
import { notFound } from '../session';
import { collect, examples, keyValue, textOrFile, withSession, type Options } from './common';

/** A `-i name=value` converted to the JSON value its declared type takes. */
export function typedInput(variable: Variable | undefined, name: string, raw: string): unknown {
  const text = textOrFile(raw);
  if (!variable) return text;
  const type = variable.type;
  switch (type) {
    case VariableType.VARIABLE_TYPE_INT: {
      if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${name} is an int, not ${JSON.stringify(text)}`);
      return Number(text);
    }
    case VariableType.VARIABLE_TYPE_FLOAT: {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw new UsageError(`${name} is a float, not ${JSON.stringify(text)}`);
      return n;
    }
    case VariableType.VARIABLE_TYPE_BOOL:
      if (text === 'true' || text === 'false') return text === 'true';
      throw new UsageError(`${name} is a bool: true or false, not ${JSON.stringify(text)}`);
    case VariableType.VARIABLE_TYPE_STR:
      return text;
    case VariableType.VARIABLE_TYPE_BYTES:
      // @file gives the file's bytes; a literal value is taken as base64 already.
      return raw.startsWith('@') ? readFileSync(raw.slice(1)).toString('base64') : text;
    default:
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new UsageError(`${name} is a list or dict: give it as JSON, not ${JSON.stringify(text)}`);
      }
  }
}

/** The user code's traceback, when Berth answered that the cell raised. */
export function executionError(err: unknown): NodeExecutionErrorDetails | undefined {
  if (!isServiceError(err)) return undefined;
  const bin = err.metadata.get('grpc-status-details-bin')[0];
  if (!bin) return undefined;
  const detail = Status.decode(Buffer.isBuffer(bin) ? bin : Buffer.from(bin)).details.find((d) => d.typeUrl.endsWith('/berth.v1.NodeExecutionErrorDetails'));
  return detail ? NodeExecutionErrorDetails.decode(detail.value) : undefined;
}

type Target = { kind: 'node'; node: Node } | { kind: 'alias'; name: string; folderId: string; node: Node };

async function targetOf(session: Session, ref: string, forceAlias: boolean): Promise<Target> {
  if (!forceAlias) {
    const node = (await session.listNodes()).find((n) => n.name === ref || n.id === ref);
    if (node) return { kind: 'node', node };
  }
  const alias = (await session.listAliases()).find((a) => a.name === ref);
  if (alias) {
    const first = alias.targets[0];
    if (!first) throw new CliError(`alias ${ref} has no targets`);
    return { kind: 'alias', name: alias.name, folderId: alias.folderId, node: await call(session.berth.nodes, 'getNode', { nodeId: first.nodeId }) };
  }
  try {
    if (!forceAlias) return { kind: 'node', node: await call(session.berth.nodes, 'getNode', { nodeId: ref }) };
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  throw new CliError(`no node or alias ${JSON.stringify(ref)} in folder ${JSON.stringify(session.folderRef)}`);
}

async function executeCheckpoint(session: Session, target: Target, opts: Options): Promise<void> {
  const declared = new Map((target.node.spec?.checkpoint?.inputVariables ?? []).map((v) => [v.name, v]));
  const input: Record<string, unknown> = {};
  if (opts.data !== undefined) {
    const parsed = JSON.parse(textOrFile(opts.data as string)) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('-d must be a JSON object of inputs');
    Object.assign(input, parsed);
  }
  for (const pair of opts.input as string[]) {
    const [name, raw] = keyValue(pair, 'NAME=VALUE');
    if (declared.size > 0 && !declared.has(name)) throw new UsageError(`${target.node.name} has no input ${JSON.stringify(name)}; its inputs: ${[...declared.keys()].join(', ')}`);
    input[name] = typedInput(declared.get(name), name, raw);
  }
  let output: unknown;
  try {
    if (target.kind === 'node') output = (await call(session.berth.nodes, 'execute', { folderId: '', nodeId: target.node.id, input })).output;
    else output = (await call(session.berth.nodes, 'executeAlias', { folderId: target.folderId, aliasName: target.name, input })).output;
  } catch (err) {
    const details = executionError(err);
    if (!details) throw err;
    const trace = details.traceback.map((l) => l.replace(/\n$/, '')).join('\n');
    const last = `${details.errorName}: ${details.errorMessage}`;
    throw new CliError(`the node's code raised:\n${trace.endsWith(last) ? trace : `${trace ? `${trace}\n` : ''}${last}`}`, EXIT.failed);
  }
  if (opts.output === 'yaml') printYaml(output ?? {});
  else printJson(output ?? {});
}

/** An HTTP request through the node API, to a Docker node (or an alias in front of Docker nodes). */
async function callNodeApi(session: Session, target: Target, path: string, opts: Options): Promise<void> {
  const headers: Record<string, string> = {};
  if (target.kind === 'node') headers['x-node-id'] = target.node.id;
  else Object.assign(headers, { 'x-node-alias': target.name, 'x-folder-id': target.folderId });
  if (session.context.key) headers.authorization = `Bearer ${session.context.key}`;
  for (const h of opts.header as string[]) {
    const at = h.indexOf(':');
    if (at <= 0) throw new UsageError(`-H takes "Name: value", not ${JSON.stringify(h)}`);
    headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
  }
  const body = opts.data === undefined ? undefined : textOrFile(opts.data as string);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const method = ((opts.request as string | undefined) ?? (body === undefined ? 'GET' : 'POST')).toUpperCase();
  const secure = Boolean(session.context.ca || session.context.tls);
  const url = `${secure ? 'https' : 'http'}://${session.nodeApi}${path.startsWith('/') ? path : `/${path}`}`;
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = (secure ? https : http).request(
      url,
      { method, headers, ...(session.context.ca ? { ca: readFileSync(session.context.ca) } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    request.on('error', (err) => reject(new CliError(`cannot reach the node API at ${session.nodeApi}: ${err.message} (--node-api HOST:PORT)`, EXIT.unreachable)));
    request.end(body);
  });
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  if (status < 200 || status > 299) throw new CliError(`${method} ${path}: HTTP ${status}`, status === 401 ? EXIT.unreachable : EXIT.failed);
}

export function registerCall(program: Command): void {
  program
    .command('call <node-or-alias> [path]')
    .description(
      'call a node or an alias: a checkpoint node with its declared inputs (-i, -d), ' +
        'a Docker node with an HTTP request through the node API (PATH, -X, -d, -H)',
    )
    .option('-i, --input <name=value>', 'an input, converted to its declared type; value @FILE reads a file (repeatable)', collect, [])
    .option('-d, --data <json|@file>', 'the inputs as a JSON object (checkpoint nodes) or the request body (Docker nodes); @FILE reads a file')
    .option('-X, --request <method>', 'HTTP method for a Docker node (default GET, POST with -d)')
    .option('-H, --header <name: value>', 'HTTP header for a Docker node (repeatable)', collect, [])
    .option('--alias', 'the name is an alias even if a node has it too')
    .option('--node-api <host:port>', 'the node API (default: the context\'s, else the server host, port 8081)')
    .addHelpText(
      'after',
      `${examples(
        'berth call price-model -i x=3',
        'berth call prod -i x=3 -o yaml',
        'berth call price-model -d @request.json',
        'berth call web /whoami',
        'berth call web -X POST /echo -d \'{"hello": "world"}\'',
      )}\nA checkpoint node's answer is its outputs as JSON (-o yaml: YAML). When the cell raises, its traceback is printed and berth exits 1.\n`,
    )
    .action(
      withSession(async (session, opts, [ref, path]) => {
        if (opts.nodeApi) session.context.nodeApi = opts.nodeApi as string;
        const target = await targetOf(session, ref!, Boolean(opts.alias));
        if (target.node.spec?.docker) {
          if ((opts.input as string[]).length > 0) throw new UsageError(`${target.node.name} is a Docker node: it takes an HTTP request (PATH, -X, -d), not -i inputs`);
          return callNodeApi(session, target, path ?? '/', opts);
        }
        if (path !== undefined || opts.request) throw new UsageError(`${target.node.name} is a checkpoint node: give its inputs with -i NAME=VALUE or -d JSON`);
        return executeCheckpoint(session, target, opts);
      }),
    );
}
