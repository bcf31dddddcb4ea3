import path from 'node:path';
import { parseArgs } from 'node:util';

export interface Config {
  host: string;
  grpcPort: number;
  httpPort: number;
  nodeApiPort: number;
  dataDir: string;
  databaseUrl: string;
  logLevel: string;
  /** `docker`, `process`, or `auto`: docker when an engine answers, else process. */
  runtime: 'auto' | 'docker' | 'process';
  /** Largest request or response on every path, in bytes. */
  maxMessageBytes: number;
  /** How long shutdown waits for calls in flight. */
  shutdownGraceMs: number;
}

const OPTIONS = {
  host: { type: 'string', env: 'BERTH_HOST', default: '127.0.0.1', help: 'address the listeners bind to' },
  'grpc-port': { type: 'string', env: 'BERTH_GRPC_PORT', default: '50051', help: 'gRPC control plane and Execute' },
  'http-port': { type: 'string', env: 'BERTH_HTTP_PORT', default: '8080', help: 'REST, /healthz, /readyz, /metrics' },
  'node-api-port': { type: 'string', env: 'BERTH_NODE_API_PORT', default: '8081', help: 'the router for Docker nodes' },
  'data-dir': { type: 'string', env: 'BERTH_DATA_DIR', default: '.berth', help: 'where the embedded database and blobs live' },
  'database-url': { type: 'string', env: 'BERTH_DATABASE_URL', default: '', help: 'postgres://… or a SQLite file (default <data-dir>/berth.sqlite)' },
  'log-level': { type: 'string', env: 'BERTH_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error' },
  runtime: { type: 'string', env: 'BERTH_RUNTIME', default: 'auto', help: 'docker, process or auto' },
  'max-message-bytes': { type: 'string', env: 'BERTH_MAX_MESSAGE_BYTES', default: String(16 * 1024 * 1024), help: 'request and response size limit' },
  'shutdown-grace-ms': { type: 'string', env: 'BERTH_SHUTDOWN_GRACE_MS', default: '10000', help: 'how long shutdown waits for calls in flight' },
} as const;

export function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => `  --${name.padEnd(20)} ${o.help} (env ${o.env}, default ${o.default || 'see above'})`);
  return `Usage: berth serve [options]\n\nOptions:\n${lines.join('\n')}\n`;
}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number from 0 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

/** Flags win over `BERTH_*` environment variables, which win over defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: 'string' as const }])),
    strict: true,
    allowPositionals: false,
  });
  const get = (name: keyof typeof OPTIONS): string => (values[name] as string | undefined) ?? env[OPTIONS[name].env] ?? OPTIONS[name].default;
  const dataDir = path.resolve(get('data-dir'));
  const runtime = get('runtime');
  if (runtime !== 'auto' && runtime !== 'docker' && runtime !== 'process') throw new Error(`--runtime must be docker, process or auto, not ${JSON.stringify(runtime)}`);
  const maxMessageBytes = Number(get('max-message-bytes'));
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1024) throw new Error('--max-message-bytes must be an integer of at least 1024');
  return {
    host: get('host'),
    grpcPort: port('grpc-port', get('grpc-port')),
    httpPort: port('http-port', get('http-port')),
    nodeApiPort: port('node-api-port', get('node-api-port')),
    dataDir,
    databaseUrl: get('database-url') || path.join(dataDir, 'berth.sqlite'),
    logLevel: get('log-level'),
    runtime,
    maxMessageBytes,
    shutdownGraceMs: Number(get('shutdown-grace-ms')),
  };
}
