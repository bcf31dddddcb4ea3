import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { UsageError } from './cli-errors';

/** Where one Berth is and how to talk to it, as `berth login` saved it. */
export interface Context {
  /** `host:port` of the gRPC listener. */
  server: string;
  /** The API key (`berth_ak…`); absent for a Berth run with `--auth none`. */
  key?: string;
  /** A CA certificate file to trust: the server speaks TLS. */
  ca?: string;
  /** `true`: TLS with the system's CAs. */
  tls?: boolean;
  /** The folder commands act in when `--folder` is not given. */
  folder?: string;
  /** `host:port` of the node API (default: the server's host, port 8081). */
  nodeApi?: string;
}

export interface ContextFile {
  current?: string;
  contexts: Record<string, Context>;
}

/** `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml`, else `~/.config/berth/config.yaml`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_CONFIG) return path.resolve(env.BERTH_CONFIG);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'berth', 'config.yaml');
}

export function readContexts(file = configPath()): ContextFile {
  if (!existsSync(file)) return { contexts: {} };
  let parsed: unknown;
  try {
    parsed = YAML.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  const doc = (parsed ?? {}) as Partial<ContextFile>;
  return { current: doc.current, contexts: doc.contexts ?? {} };
}

/** Writes the file readable by its owner only: it holds API keys. */
export function writeContexts(contexts: ContextFile, file = configPath()): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, YAML.stringify(contexts), { mode: 0o600 });
  // An existing file keeps its mode on write: make sure it is 0600 anyway.
  chmodSync(file, 0o600);
}

/** The gRPC address a `berth serve` on this machine listens on by default. */
export const LOCAL_SERVER = '127.0.0.1:50051';

export function isLoopbackAddress(address: string): boolean {
  const host = hostOf(address);
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The host of `host:port` (IPv6 in brackets or not). */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const colons = address.split(':').length - 1;
  if (colons === 1) return address.slice(0, address.lastIndexOf(':'));
  return address;
}

/**
 * The admin key a `berth serve` started in this directory (or one above it)
 * wrote: a local Berth needs no login.
 */
export function findLocalAdminKey(from = process.cwd()): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const file = path.join(dir, '.berth', 'admin.key');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    if (path.dirname(dir) === dir) return undefined;
  }
}

export interface ResolvedContext extends Context {
  /** The context's name, or `(environment)` / `(local)` when none was used. */
  name: string;
}

/**
 * What a command talks to: the named context (`--context`, else the current
 * one), with `BERTH_SERVER` / `BERTH_KEY` / `BERTH_FOLDER` / `BERTH_NODE_API`
 * over it; with no context at all, the local `berth serve` and its admin key.
 */
export function resolveContext(requested: string | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedContext {
  const file = readContexts();
  const name = requested ?? env.BERTH_CONTEXT ?? file.current;
  let base: ResolvedContext | undefined;
  if (name) {
    const ctx = file.contexts[name];
    if (!ctx) {
      if (requested || env.BERTH_CONTEXT) throw new UsageError(`no context ${JSON.stringify(name)} in ${configPath()} (berth context list)`);
    } else base = { ...ctx, name };
  }
  const resolved: ResolvedContext = base ?? { name: env.BERTH_SERVER ? '(environment)' : '(local)', server: LOCAL_SERVER };
  if (env.BERTH_SERVER && env.BERTH_SERVER !== resolved.server) {
    // Another server than the context's: its key and CA do not belong to it.
    Object.assign(resolved, { server: env.BERTH_SERVER, key: undefined, ca: undefined, tls: undefined, nodeApi: undefined });
  }
  if (env.BERTH_KEY) resolved.key = env.BERTH_KEY;
  if (env.BERTH_CA) resolved.ca = env.BERTH_CA;
  if (env.BERTH_FOLDER) resolved.folder = env.BERTH_FOLDER;
  if (env.BERTH_NODE_API) resolved.nodeApi = env.BERTH_NODE_API;
  if (!resolved.key && isLoopbackAddress(resolved.server)) resolved.key = findLocalAdminKey();
  return resolved;
}

/** The node API next to a gRPC address: same host, port 8081. */
export function defaultNodeApi(server: string): string {
  const host = hostOf(server);
  return `${host.includes(':') ? `[${host}]` : host}:8081`;
}
