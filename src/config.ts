import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CHECKPOINT_QUOTA } from './domain/checkpoint';
import type { ConfigurationCatalog } from './domain/configuration';
import { loadConfigurationCatalog } from './control/configuration-catalog';
import { commaList, isLoopbackHost, parseAllowedHosts, parseCorsOrigins } from './gateway/browser-policy';
import { DEFAULT_CONNECTION_TIMEOUTS, type ConnectionTimeouts } from './gateway/connection-timeouts';
import { loadTlsIdentity, type TlsIdentity } from './gateway/server-tls';
import { DEFAULT_NODE_NETWORK_POOL, parsePool } from './runtime/docker/subnet-pool';

export interface Config {
  host: string;
  grpcPort: number;
  httpPort: number;
  nodeApiPort: number;
  /**
   * What relays node-API calls: `builtin` (Berth's own server), `haproxy`
   * (HAProxy started and driven by Berth, Berth's server behind it for what
   * HAProxy leaves to it), or `auto` (haproxy when its binary is there).
   */
  dataPlane: 'builtin' | 'haproxy' | 'auto';
  /** The HAProxy binary for `--data-plane haproxy` or `auto`. */
  haproxyBinary: string;
  dataDir: string;
  databaseUrl: string;
  /**
   * The file holding the 256-bit key that secret values are encrypted under;
   * empty for `<data-dir>/secret.key`. Made (0600) when it does not exist.
   */
  secretKeyFile: string;
  logLevel: string;
  /** `docker`, `process`, or `auto`: docker when an engine answers, else process. */
  runtime: 'auto' | 'docker' | 'process';
  /** Largest request or response on every path, in bytes. */
  maxMessageBytes: number;
  /** How long shutdown waits for calls in flight. */
  shutdownGraceMs: number;
  /** A node never healthy this long after creation fails its CreateNode. */
  startupTimeoutMs: number;
  /** An instance unhealthy this long is started again. */
  unhealthyGraceMs: number;
  /** Period of the supervisor's full resync. */
  resyncMs: number;
  /**
   * Labels every container this installation makes, so that several Berth
   * installations can share one Docker engine without adopting (or collecting)
   * each other's containers.
   */
  clusterId: string;
  /**
   * The IPv4 CIDR Docker node networks take their /25 subnets from, instead
   * of Docker's default address pools (which hold about 30 networks).
   */
  nodeNetworkPool: string;
  /** Containers, processes and networks of no node are collected only once this old (and this long after start). */
  orphanGraceMs: number;
  /** How often the garbage collector looks for them (it also looks at start). */
  gcIntervalMs: number;
  /** The Python that captures checkpoints and runs process instances. */
  python: string;
  captureTimeoutMs: number;
  captureMemoryMb: number;
  /** Pinned checkpoints per folder. */
  checkpointQuota: number;
  /** How much of each node's instance output and events is kept (see `control/node-logs.ts`). */
  logRetention: { bytesPerNode: number; hours: number };
  /** Instances each folder's nodes may run together (the sum of their instance_range.max); 0: no quota. */
  instanceQuota: number;
  /** Pull images that are not present locally (off where no registry is reachable). */
  pullImages: boolean;
  /** The image checkpoint instances run in under the docker runtime, unless the node names its own. */
  systemImage: string;
  /** Calls that may wait per checkpoint node when every instance is busy. */
  executeQueue: number;
  /** Longest Execute call, waiting included. */
  executeTimeoutMs: number;
  /**
   * Scale from zero: how long a call to a sleeping node (instance_range.min 0)
   * is held while its first instance starts (its own deadline may end the
   * wait sooner), and how many calls per node may be held at once.
   */
  wake: { holdMs: number; maxHeld: number };
  /**
   * Head-read and idle limits of callers' connections on every listener
   * (not a node's own endpoint idle timeout, which is part of its spec).
   */
  connectionTimeouts: ConnectionTimeouts;
  /**
   * `keys`: every call needs an API key. `none`: every caller is a server
   * admin, allowed only when the listeners bind to loopback.
   */
  auth: 'keys' | 'none';
  /** `none`: `GET /metrics` needs no key (as /healthz); `keys`: a server admin's key (see src/observability/metrics-route.ts). */
  metricsAuth: 'keys' | 'none';
  /** Where the first start writes the server admin's key (mode 0600); empty: `<data-dir>/admin.key`. */
  adminKeyFile: string;
  /** Exact origins whose pages may call the REST API and the node API (CORS); none by default. */
  corsOrigins: string[];
  /**
   * Host names accepted in `Host`/`:authority` besides loopback addresses
   * (on loopback binds always checked, against DNS rebinding; elsewhere only when given).
   */
  allowedHosts: string[];
  /** The certificate and key all three listeners serve TLS with; cleartext without. */
  tls?: TlsIdentity;
  /**
   * Run the process runtime even when the listeners bind beyond loopback:
   * it runs callers' code on this host as Berth's user.
   */
  allowHostCode: boolean;
  /**
   * How far V8 lets the old generation grow past what its last full
   * collection left, in percent (0: V8's own choice, up to four times).
   */
  heapGrowthPercent: number;
  /**
   * The least room past the live heap, in MiB, whatever the percent gives
   * (with a percent of 0, V8's own sizing, it is not used).
   */
  heapGrowthMinMb: number;
  /** OTLP/HTTP collector that spans are exported to (`http://collector:4318`); empty: no spans recorded. */
  otlpEndpoint: string;
  /** The named configurations nodes may name (`--configurations`, else the defaults) and whether raw ones are allowed. */
  configurations: ConfigurationCatalog;
}

/**
 * V8 lets the old generation grow to up to four times what its last full
 * collection left before it collects again, and sizes that room to the
 * allocation rate: under sustained calls Berth's RSS then climbs for a long
 * time while the live heap stays flat. A fixed room bounds it at little CPU
 * cost (docs/BENCHMARKS.md, "Memory under sustained load").
 */
const DEFAULT_HEAP_GROWTH_PERCENT = 50;
/**
 * 50 % of a ~45 MB live heap is room for a few calls of 1 MiB: the floor in
 * bytes keeps large calls from triggering a full collection every few calls.
 */
const DEFAULT_HEAP_GROWTH_MIN_MB = 96;

const OPTIONS = {
  host: { type: 'string', env: 'BERTH_HOST', default: '127.0.0.1', help: 'address the listeners bind to' },
  'grpc-port': { type: 'string', env: 'BERTH_GRPC_PORT', default: '50051', help: 'gRPC control plane and Execute' },
  'http-port': { type: 'string', env: 'BERTH_HTTP_PORT', default: '8080', help: 'REST, /healthz, /readyz, /metrics' },
  'node-api-port': { type: 'string', env: 'BERTH_NODE_API_PORT', default: '8081', help: 'the router for Docker nodes' },
  'data-plane': { type: 'string', env: 'BERTH_DATA_PLANE', default: 'auto', help: 'what relays node-API calls: auto (haproxy when installed, else builtin), haproxy (started and driven by Berth) or builtin' },
  haproxy: { type: 'string', env: 'BERTH_HAPROXY', default: '/usr/sbin/haproxy', help: 'the HAProxy binary for --data-plane haproxy or auto' },
  'data-dir': { type: 'string', env: 'BERTH_DATA_DIR', default: '.berth', help: 'where the embedded database and blobs live' },
  'database-url': { type: 'string', env: 'BERTH_DATABASE_URL', default: '', help: 'postgres://… or a SQLite file (default <data-dir>/berth.sqlite)' },
  'secret-key-file': { type: 'string', env: 'BERTH_SECRET_KEY_FILE', default: '', help: 'key of the secrets: 32 bytes raw, hex or base64; made 0600 if absent (default <data-dir>/secret.key)' },
  'log-level': { type: 'string', env: 'BERTH_LOG_LEVEL', default: 'info', help: 'trace, debug, info, warn, error' },
  runtime: { type: 'string', env: 'BERTH_RUNTIME', default: 'auto', help: 'docker, process or auto' },
  'max-message-bytes': { type: 'string', env: 'BERTH_MAX_MESSAGE_BYTES', default: String(16 * 1024 * 1024), help: 'request and response size limit' },
  'shutdown-grace-ms': { type: 'string', env: 'BERTH_SHUTDOWN_GRACE_MS', default: '10000', help: 'how long shutdown waits for calls in flight' },
  'startup-timeout-ms': { type: 'string', env: 'BERTH_STARTUP_TIMEOUT_MS', default: '120000', help: 'a node never healthy this long fails its CreateNode' },
  'unhealthy-grace-ms': { type: 'string', env: 'BERTH_UNHEALTHY_GRACE_MS', default: '30000', help: 'an instance unhealthy this long is started again' },
  'cluster-id': { type: 'string', env: 'BERTH_CLUSTER_ID', default: 'default', help: 'label of this installation on shared Docker engines' },
  'node-network-pool': { type: 'string', env: 'BERTH_NODE_NETWORK_POOL', default: DEFAULT_NODE_NETWORK_POOL, help: 'IPv4 CIDR the /25 subnets of Docker node networks come from' },
  'orphan-grace-ms': { type: 'string', env: 'BERTH_ORPHAN_GRACE_MS', default: '10000', help: 'containers and networks of no node are collected once this old (and this long after start)' },
  'gc-interval-ms': { type: 'string', env: 'BERTH_GC_INTERVAL_MS', default: '300000', help: 'how often orphaned containers and networks are looked for' },
  python: { type: 'string', env: 'BERTH_PYTHON', default: 'python3', help: 'Python for checkpoint capture and process instances' },
  'capture-timeout-ms': { type: 'string', env: 'BERTH_CAPTURE_TIMEOUT_MS', default: '600000', help: 'time limit of a checkpoint capture' },
  'capture-memory-mb': { type: 'string', env: 'BERTH_CAPTURE_MEMORY_MB', default: '4096', help: 'memory limit of a checkpoint capture' },
  'log-retention-bytes': { type: 'string', env: 'BERTH_LOG_RETENTION_BYTES', default: String(16 * 1024 * 1024), help: "instance output kept per node; the oldest lines go first" },
  'log-retention-hours': { type: 'string', env: 'BERTH_LOG_RETENTION_HOURS', default: '168', help: 'instance output and node events older than this go' },
  'checkpoint-quota': { type: 'string', env: 'BERTH_CHECKPOINT_QUOTA', default: String(DEFAULT_CHECKPOINT_QUOTA), help: 'pinned checkpoints per folder' },
  'instance-quota': { type: 'string', env: 'BERTH_INSTANCE_QUOTA', default: '1000', help: "instances a folder's nodes may run together (sum of instance_range.max); 0: no quota" },
  'pull-images': { type: 'string', env: 'BERTH_PULL_IMAGES', default: 'true', help: 'pull images missing locally: true or false' },
  'system-image': { type: 'string', env: 'BERTH_SYSTEM_IMAGE', default: 'berth-python:latest', help: 'image of checkpoint instances under docker' },
  'execute-queue': { type: 'string', env: 'BERTH_EXECUTE_QUEUE', default: '64', help: 'calls that may wait per checkpoint node' },
  'execute-timeout-ms': { type: 'string', env: 'BERTH_EXECUTE_TIMEOUT_MS', default: '60000', help: 'longest Execute call' },
  'wake-timeout-ms': { type: 'string', env: 'BERTH_WAKE_TIMEOUT_MS', default: '30000', help: 'a call to a sleeping node (min 0) waits this long for its first instance, then gets 503 / UNAVAILABLE with retry-after (0: not held)' },
  'wake-queue': { type: 'string', env: 'BERTH_WAKE_QUEUE', default: '64', help: 'calls that may wait per sleeping node while it wakes (as many as --execute-queue lets wait afterwards); more get 429 / RESOURCE_EXHAUSTED' },
  'header-timeout-ms': { type: 'string', env: 'BERTH_HEADER_TIMEOUT_MS', default: String(DEFAULT_CONNECTION_TIMEOUTS.headerTimeoutMs), help: 'a connection must send a request head within this (0: no limit)' },
  'connection-idle-timeout-ms': { type: 'string', env: 'BERTH_CONNECTION_IDLE_TIMEOUT_MS', default: String(DEFAULT_CONNECTION_TIMEOUTS.idleTimeoutMs), help: 'a connection with no call in progress is closed after this (0: never)' },
  auth: { type: 'string', env: 'BERTH_AUTH', default: 'keys', help: 'keys (every call needs an API key) or none (loopback only: every caller is admin)' },
  'metrics-auth': { type: 'string', env: 'BERTH_METRICS_AUTH', default: 'none', help: "none (GET /metrics needs no key) or keys (a server admin's key); /metrics/folders/{id} always needs one under --auth keys" },
  'admin-key-file': { type: 'string', env: 'BERTH_ADMIN_KEY_FILE', default: '', help: "where the first start writes the server admin's API key (default <data-dir>/admin.key)" },
  'cors-origin': { type: 'string', env: 'BERTH_CORS_ORIGIN', default: '', help: 'comma-separated origins (https://app.example) whose pages may call the REST API and node API; none by default' },
  'allowed-host': { type: 'string', env: 'BERTH_ALLOWED_HOSTS', default: '', help: 'comma-separated host names requests may name besides loopback addresses (DNS-rebinding guard)' },
  'tls-cert': { type: 'string', env: 'BERTH_TLS_CERT', default: '', help: 'PEM certificate (chain) all three listeners serve TLS with, with --tls-key (none: cleartext)' },
  'tls-key': { type: 'string', env: 'BERTH_TLS_KEY', default: '', help: 'PEM private key of --tls-cert (none: cleartext)' },
  'allow-host-code': { type: 'string', env: 'BERTH_ALLOW_HOST_CODE', default: 'false', help: "true: run the process runtime (callers' code on this host) on a non-loopback --host" },
  'heap-growth-percent': { type: 'string', env: 'BERTH_HEAP_GROWTH_PERCENT', default: String(DEFAULT_HEAP_GROWTH_PERCENT), help: "old-generation room past the live heap before V8's next full collection, in percent (0: V8's own choice, which goes up to 300)" },
  'heap-growth-min-mb': { type: 'string', env: 'BERTH_HEAP_GROWTH_MIN_MB', default: String(DEFAULT_HEAP_GROWTH_MIN_MB), help: 'the least old-generation room past the live heap, in MiB, whatever --heap-growth-percent gives (0: the percent alone)' },
  'otlp-endpoint': { type: 'string', env: 'BERTH_OTLP_ENDPOINT', default: '', help: 'OTLP/HTTP collector for traces, e.g. http://127.0.0.1:4318 (none: no spans recorded)' },
  configurations: { type: 'string', env: 'BERTH_CONFIGURATIONS', default: '', help: 'JSON file of the named configurations nodes may name (default: small, medium, large, gpu)' },
  'allow-raw-configurations': { type: 'string', env: 'BERTH_ALLOW_RAW_CONFIGURATIONS', default: 'true', help: 'false: nodes must name a configuration, not give cpu, memory and gpu themselves' },
  'resync-ms': { type: 'string', env: 'BERTH_RESYNC_MS', default: '60000', help: "period of the supervisor's full resync (runtime events and probes drive it in between)" },
} as const;

export function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => `  --${name.padEnd(26)} ${o.help} (env ${o.env}${o.default ? `, default ${o.default}` : ''})`);
  return `Usage: berth serve [options]\n\nOptions:\n${lines.join('\n')}\n`;
}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number from 0 to 65535, not ${JSON.stringify(value)}`);
  return n;
}

function wholeNumber(name: string, value: string, unit: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of ${unit} above 0, not ${JSON.stringify(value)}`);
  return n;
}

function millis(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number of milliseconds, not ${JSON.stringify(value)}`);
  return n;
}

/** Node's timers hold at most 2^31 - 1 ms (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function timerMillis(name: string, value: string): number {
  const n = millis(name, value);
  if (n > MAX_TIMER_MS) throw new Error(`--${name} must be at most ${MAX_TIMER_MS} (about 24 days; 0 for no limit), not ${JSON.stringify(value)}`);
  return n;
}

function heapGrowthPercent(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new Error(`--heap-growth-percent must be a whole number from 0 to 1000, not ${JSON.stringify(value)}`);
  return n;
}

function heapGrowthMinMb(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 4096) throw new Error(`--heap-growth-min-mb must be a whole number of MiB from 0 to 4096, not ${JSON.stringify(value)}`);
  return n;
}

function otlpEndpoint(value: string): string {
  if (value === '') return '';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new Error(`--otlp-endpoint must be an http:// or https:// URL of an OTLP/HTTP collector, not ${JSON.stringify(value)}`);
  return value;
}

function flag(name: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`--${name} must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * Refuses to run callers' code on this host when the listeners are reachable
 * from other machines, unless the operator said so: the process runtime runs
 * every checkpoint's cells and instances as Berth's own user, with access to
 * everything that user can read and write.
 */
export function assertHostCodeAllowed(config: Pick<Config, 'host' | 'allowHostCode'>, runtime: string): void {
  if (config.allowHostCode || isLoopbackHost(config.host)) return;
  throw new Error(
    `${runtime}: the process runtime runs callers' notebook code on this host as Berth's user, ` +
      `and --host ${config.host} lets other machines call Berth; bind to loopback (--host 127.0.0.1), ` +
      `run the docker runtime, or pass --allow-host-code true to accept this`,
  );
}

/** Both TLS files or neither. */
function tlsOf(certFile: string, keyFile: string): TlsIdentity | undefined {
  if (!certFile && !keyFile) return undefined;
  if (!certFile) throw new Error('--tls-key needs --tls-cert: give both (or neither, for cleartext listeners)');
  if (!keyFile) throw new Error('--tls-cert needs --tls-key: give both (or neither, for cleartext listeners)');
  return loadTlsIdentity(path.resolve(certFile), path.resolve(keyFile));
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
  const nodeNetworkPool = get('node-network-pool');
  try {
    parsePool(nodeNetworkPool);
  } catch (err) {
    throw new Error(`--node-network-pool: ${(err as Error).message}`);
  }
  const dataPlane = get('data-plane');
  if (dataPlane !== 'builtin' && dataPlane !== 'haproxy' && dataPlane !== 'auto') throw new Error(`--data-plane must be builtin, haproxy or auto, not ${JSON.stringify(dataPlane)}`);
  const auth = get('auth');
  if (auth !== 'keys' && auth !== 'none') throw new Error(`--auth must be keys or none, not ${JSON.stringify(auth)}`);
  const metricsAuth = get('metrics-auth');
  if (metricsAuth !== 'keys' && metricsAuth !== 'none') throw new Error(`--metrics-auth must be keys or none, not ${JSON.stringify(metricsAuth)}`);
  const host = get('host');
  if (auth === 'none' && !isLoopbackHost(host))
    throw new Error(`--auth none lets every caller act as a server admin; it is allowed only on a loopback address, not --host ${host}`);
  const allowHostCode = flag('allow-host-code', get('allow-host-code'));
  if (runtime === 'process') assertHostCodeAllowed({ host, allowHostCode }, '--runtime process');
  const maxMessageBytes = Number(get('max-message-bytes'));
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1024) throw new Error('--max-message-bytes must be an integer of at least 1024');
  return {
    host,
    grpcPort: port('grpc-port', get('grpc-port')),
    httpPort: port('http-port', get('http-port')),
    nodeApiPort: port('node-api-port', get('node-api-port')),
    dataPlane,
    haproxyBinary: get('haproxy'),
    dataDir,
    databaseUrl: get('database-url') || path.join(dataDir, 'berth.sqlite'),
    secretKeyFile: get('secret-key-file') === '' ? '' : path.resolve(get('secret-key-file')),
    logLevel: get('log-level'),
    runtime,
    maxMessageBytes,
    shutdownGraceMs: millis('shutdown-grace-ms', get('shutdown-grace-ms')),
    startupTimeoutMs: millis('startup-timeout-ms', get('startup-timeout-ms')),
    unhealthyGraceMs: millis('unhealthy-grace-ms', get('unhealthy-grace-ms')),
    resyncMs: millis('resync-ms', get('resync-ms')),
    clusterId: get('cluster-id'),
    nodeNetworkPool,
    orphanGraceMs: millis('orphan-grace-ms', get('orphan-grace-ms')),
    gcIntervalMs: millis('gc-interval-ms', get('gc-interval-ms')),
    python: get('python'),
    captureTimeoutMs: millis('capture-timeout-ms', get('capture-timeout-ms')),
    captureMemoryMb: millis('capture-memory-mb', get('capture-memory-mb')),
    checkpointQuota: millis('checkpoint-quota', get('checkpoint-quota')),
    logRetention: { bytesPerNode: wholeNumber('log-retention-bytes', get('log-retention-bytes'), 'bytes'), hours: wholeNumber('log-retention-hours', get('log-retention-hours'), 'hours') },
    instanceQuota: millis('instance-quota', get('instance-quota')),
    pullImages: flag('pull-images', get('pull-images')),
    systemImage: get('system-image'),
    executeQueue: millis('execute-queue', get('execute-queue')),
    executeTimeoutMs: millis('execute-timeout-ms', get('execute-timeout-ms')),
    wake: { holdMs: timerMillis('wake-timeout-ms', get('wake-timeout-ms')), maxHeld: wholeNumber('wake-queue', get('wake-queue'), 'calls') },
    heapGrowthPercent: heapGrowthPercent(get('heap-growth-percent')),
    heapGrowthMinMb: heapGrowthMinMb(get('heap-growth-min-mb')),
    connectionTimeouts: {
      headerTimeoutMs: timerMillis('header-timeout-ms', get('header-timeout-ms')),
      idleTimeoutMs: timerMillis('connection-idle-timeout-ms', get('connection-idle-timeout-ms')),
    },
    auth,
    metricsAuth,
    adminKeyFile: get('admin-key-file'),
    corsOrigins: parseCorsOrigins(commaList(get('cors-origin'))),
    allowedHosts: parseAllowedHosts(commaList(get('allowed-host'))),
    tls: tlsOf(get('tls-cert'), get('tls-key')),
    allowHostCode,
    otlpEndpoint: otlpEndpoint(get('otlp-endpoint')),
    configurations: loadConfigurationCatalog(get('configurations') && path.resolve(get('configurations')), flag('allow-raw-configurations', get('allow-raw-configurations'))),
  };
}
