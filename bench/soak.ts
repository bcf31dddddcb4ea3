/**
 * The soak benchmark: does Berth's memory stay flat under sustained load on
 * every path a caller can take?
 *
 *   npx tsx bench/soak.ts [--paths rest-control,execute-rest,…] [--calls N] [--warmup N]
 *
 * For each path, all on 127.0.0.1:
 * 1. starts a fresh `berth serve` child process (its own temp data dir, SQLite),
 *    under `--trace-gc` so that its own log says how much heap is live after
 *    each full collection; the process runtime for control-plane and
 *    checkpoint paths, the docker runtime (with the locally built test images,
 *    scripts/build-test-images.sh) for the node-API paths;
 * 2. creates what the path calls: a captured checkpoint and a checkpoint node
 *    (one instance), or a Docker node of the HTTP or gRPC test image;
 * 3. makes --warmup calls (default 50,000), not measured;
 * 4. makes --calls calls (default 300,000 on the Execute paths, 100,000 on the
 *    others) with --connections callers in a bounded loop, sampling Berth's
 *    RSS (VmRSS in /proc/<pid>/status) four times a second;
 * 5. prints one row per path: calls, RSS after warm-up, RSS at the end, the
 *    peak, growth per 100,000 calls, live heap after Berth's first and last
 *    full collection, and the verdict against the target (under 5 MB per
 *    100,000 calls).
 *
 * Nothing forces a garbage collection in Berth. Under load its RSS is a saw:
 * garbage promoted to the old generation piles up until V8's next full
 * collection (tens of MB on every path), so one sample lands anywhere between
 * floor and peak. "RSS after warm-up" is therefore the floor (lowest sample) of
 * the first --window share of the measured calls and "RSS at the end" the floor
 * of the last share; the table shows how many full collections each window
 * saw, which must be at least one for the floor to mean anything. A leak lifts
 * the floor (and the live heap); garbage does not. Every call must succeed; a
 * failed call stops the run.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { FolderServiceClient } from '../gen/berth/v1/folder_service';
import { NodeServiceClient } from '../gen/berth/v1/node_service';
import { buildTestImages } from '../test/images/test-images';
import { must, rest, sleep } from './support/rest';

const ROOT = path.resolve(__dirname, '..');
const BERTH_BIN = path.join(ROOT, 'bin', 'berth.js');
const MB = 1024 * 1024;
/** Target: RSS growth after warm-up, per 100,000 calls. */
const TARGET_MB_PER_100K = 5;

const run = promisify(execFile);

const PATH_KEYS = [
  'rest-control',
  'grpc-control',
  'execute-rest',
  'execute-grpc',
  'typed-rest',
  'typed-grpc',
  'node-api-http1',
  'node-api-h2c',
  'node-api-grpc',
] as const;
type PathKey = (typeof PATH_KEYS)[number];
const EXECUTE_PATHS: readonly PathKey[] = ['execute-rest', 'execute-grpc'];

interface Options {
  paths: PathKey[];
  /** Measured calls per path; undefined: 300,000 on the Execute paths, 100,000 elsewhere. */
  calls: number | undefined;
  warmup: number;
  connections: number;
  /** Share of the measured calls at the start and at the end whose RSS floor is compared. */
  window: number;
  /** Stop the measured calls of a path after this long (the row then says how many were made). */
  maxSeconds: number;
  /** More `berth serve` flags, e.g. `--heap-growth-percent 0` for V8's own heap sizing. */
  berthArgs: string[];
}

const USAGE = `usage: npx tsx bench/soak.ts [options]
  --paths LIST       paths to soak, in this order (default: all)
                     ${PATH_KEYS.join(',')}
  --calls N          measured calls per path (default 300000 on execute-*, 100000 elsewhere)
  --warmup N         calls before the first sample (default 50000)
  --connections N    concurrent callers (default 4)
  --window F         share of the calls at the start and at the end whose RSS
                     floors are compared (default 0.2)
  --max-seconds S    stop a path's measured calls after S seconds and report the
                     calls made by then (for a busy machine; default: no limit)
  --berth-args "A B" more flags for every berth serve, split at spaces
                     (e.g. "--heap-growth-percent 0" for V8's own heap sizing)
`;

function parseOptions(argv: string[]): Options {
  const o: Options = { paths: [...PATH_KEYS], calls: undefined, warmup: 50_000, connections: 4, window: 0.2, maxSeconds: Infinity, berthArgs: [] };
  const number = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < min) throw new Error(`${name} needs a whole number of at least ${min}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--paths': {
        const list = (argv[++i] ?? '').split(',').filter(Boolean);
        const unknown = list.filter((p) => !(PATH_KEYS as readonly string[]).includes(p));
        if (list.length === 0 || unknown.length > 0) throw new Error(`--paths: unknown ${unknown.join(', ') || '(empty)'}\n${USAGE}`);
        o.paths = list as PathKey[];
        break;
      }
      case '--calls':
        o.calls = number(arg, argv[++i], 1);
        break;
      case '--warmup':
        o.warmup = number(arg, argv[++i], 0);
        break;
      case '--connections':
        o.connections = number(arg, argv[++i], 1);
        break;
      case '--window': {
        const f = Number(argv[++i]);
        if (!(f > 0 && f <= 0.5)) throw new Error(`--window needs a share between 0 and 0.5\n${USAGE}`);
        o.window = f;
        break;
      }
      case '--max-seconds':
        o.maxSeconds = number(arg, argv[++i], 1);
        break;
      case '--berth-args':
        o.berthArgs = (argv[++i] ?? '').split(' ').filter(Boolean);
        break;
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  return o;
}

function log(message: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The body of a REST call that must answer 200. */
function restOk(base: string, method: string, urlPath: string, body?: unknown): Promise<any> {
  return must(`${method} ${urlPath}`, rest(base, method, urlPath, body));
}

async function waitOperation(base: string, operation: any, what: string): Promise<any> {
  const op = await restOk(base, 'POST', `/v1/operations/${operation.id}:wait`, { timeout: '180s' });
  if (!op.done || op.error) throw new Error(`${what}: ${JSON.stringify(op)}`);
  return op;
}

// --- the Berth under test -----------------------------------------------------------

interface BerthProcess {
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  http: string;
  grpc: string;
  nodeApiPort: number;
  /** Live heap after the last full collection (from --trace-gc), in bytes; 0 before the first. */
  liveHeap(): number;
  /** Full collections (Mark-Compact) so far. */
  fullGcs(): number;
  /** V8's committed heap at the last collection of any kind (from --trace-gc), in bytes. */
  committedHeap(): number;
  logTail: string[];
}

async function startBerth(runtime: 'process' | 'docker', clusterId: string, dataDir: string, more: string[]): Promise<BerthProcess> {
  const args = [
    '--trace-gc', BERTH_BIN, 'serve',
    '--runtime', runtime, '--pull-images', 'false', '--cluster-id', clusterId, '--data-dir', dataDir,
    '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--log-level', 'info',
    // Loopback only; the key check is a cache hit per call, not what this bench measures.
    '--auth', 'none', ...more,
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const logTail: string[] = [];
  const keep = (line: string): void => {
    logTail.push(line);
    if (logTail.length > 100) logTail.shift();
  };
  let live = 0;
  let fullGcs = 0;
  let committed = 0;
  readline.createInterface({ input: proc.stderr! }).on('line', keep);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ports = await new Promise<{ grpcPort: number; httpPort: number; nodeApiPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth serve did not start within 60 s:\n${logTail.join('\n')}`)), 60_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      // [pid:0x…]  1234 ms: Scavenge 69.4 (89.5) -> 56.7 (90.0) MB, … : used (committed) after
      const any = /: (?:Scavenge|Mark-Compact|Mark-sweep)[^:]*? [\d.]+ \([\d.]+\) -> [\d.]+ \(([\d.]+)\) MB/.exec(line);
      if (any) committed = Number(any[1]) * MB;
      // [pid:0x…]  1234 ms: Mark-Compact 52.8 (82.7) -> 35.2 (72.0) MB, …
      const gc = /Mark-Compact(?: \([^)]*\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
      if (gc) {
        live = Number(gc[1]) * MB;
        fullGcs++;
        return;
      }
      if (line.startsWith('[')) return;
      keep(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'berth is serving') {
          clearTimeout(timer);
          resolve(entry);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`berth serve exited with ${code} before serving:\n${logTail.join('\n')}`));
    });
  });
  return {
    proc,
    pid: proc.pid!,
    exited,
    http: `http://127.0.0.1:${ports.httpPort}`,
    grpc: `127.0.0.1:${ports.grpcPort}`,
    nodeApiPort: ports.nodeApiPort,
    liveHeap: () => live,
    fullGcs: () => fullGcs,
    committedHeap: () => committed,
    logTail,
  };
}

async function stopBerth(b: BerthProcess): Promise<void> {
  if (b.proc.exitCode !== null) return;
  b.proc.kill('SIGTERM');
  const timer = setTimeout(() => b.proc.kill('SIGKILL'), 15_000);
  await b.exited;
  clearTimeout(timer);
}

/** CPU time (user + system) the process has used so far, in seconds. */
function cpuSecondsOf(pid: number): number {
  // Fields after the command name (which ends at the last ')'): state is 3, utime 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every common build. */
const CLOCK_TICKS = 100;

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

// --- what each path calls -------------------------------------------------------------

/** One call of a path; rejects when the call did not succeed. */
interface Driver {
  call(): Promise<void>;
  close(): void;
}

/** A notebook whose served cell doubles `x`: the smallest checkpoint that runs user code. */
const NOTEBOOK = JSON.stringify({
  cells: [
    { cell_type: 'code', source: 'k = 2', metadata: {}, outputs: [], execution_count: null },
    { cell_type: 'code', source: 'y = x * k', metadata: {}, outputs: [], execution_count: null },
  ],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});

/**
 * Nodes made for the path being soaked: deleted before Berth stops, since
 * instances outlive a stopped Berth (its next start adopts them).
 */
const createdNodes: string[] = [];

async function checkpointNode(b: BerthProcess): Promise<string> {
  const capture = await waitOperation(b.http, await restOk(b.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'soak', notebook: NOTEBOOK, servedCellIndex: 1 }), 'capture');
  const created = await restOk(b.http, 'POST', '/v1/nodes', {
    folderId: 'default',
    name: 'soak',
    spec: {
      checkpoint: {
        checkpointId: capture.response.id,
        inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }],
        outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }],
      },
      instanceRange: { min: 1, max: 1 },
    },
  });
  createdNodes.push(created.resourceId);
  return (await waitOperation(b.http, created, 'create the checkpoint node')).resourceId;
}

async function dockerNode(b: BerthProcess, kind: 'http' | 'grpc'): Promise<string> {
  const images = await buildTestImages();
  const docker =
    kind === 'http'
      ? {
          image: images.http,
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '60s' },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '1s', timeout: '1s' },
        }
      : { image: images.grpc, endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051 }, healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '1s' } };
  const created = await restOk(b.http, 'POST', '/v1/nodes', { folderId: 'default', name: `soak-${kind}`, spec: { docker, instanceRange: { min: 1, max: 1 } } });
  createdNodes.push(created.resourceId);
  return (await waitOperation(b.http, created, `create the Docker ${kind} node`)).resourceId;
}

/** HTTP/1.1 keep-alive calls; the answer must be 200. */
function http1Driver(port: number, method: string, urlPath: string, body: string | undefined, headers: Record<string, string>, connections: number): Driver {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const payload = body === undefined ? undefined : Buffer.from(body);
  const allHeaders = payload ? { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length) } : headers;
  return {
    call: () =>
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers: allHeaders }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${method} ${urlPath}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString()}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      }),
    close: () => agent.destroy(),
  };
}

function h2cDriver(port: number, urlPath: string, headers: Record<string, string>): Driver {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  return {
    call: () =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':method': 'GET', ':path': urlPath, ...headers });
        let status = 0;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', () => undefined);
        stream.on('end', () => (status === 200 ? resolve() : reject(new Error(`h2c GET ${urlPath}: ${status}`))));
        stream.on('error', reject);
        stream.end();
      }),
    close: () => session.close(),
  };
}

/** A unary gRPC call with pre-encoded request bytes: what the caller's stub sends, without a stub. */
function rawGrpcDriver(address: string, method: string, request: Buffer, metadata: Record<string, string>): Driver {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const identity = (b: Buffer): Buffer => b;
  return {
    call: () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(method, identity, identity, request, md.clone(), (err) => (err ? reject(err) : resolve()));
      }),
    close: () => client.close(),
  };
}

/** What a path needs from Berth, and how it is called. */
interface PathSetup {
  runtime: 'process' | 'docker';
  prepare(b: BerthProcess, connections: number): Promise<Driver>;
}

/** A protobuf varint field: the typed request `{x: 3}` is field 1 = 3. */
const TYPED_REQUEST = Buffer.from([0x08, 0x03]);
/** berth.test.EchoRequest { message: "soak" }. */
const ECHO_REQUEST = Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from('soak')]);

const PATHS: Record<PathKey, PathSetup> = {
  'rest-control': {
    runtime: 'process',
    prepare: async (b, c) => http1Driver(Number(new URL(b.http).port), 'GET', '/v1/folders', undefined, {}, c),
  },
  'grpc-control': {
    runtime: 'process',
    prepare: async (b) => {
      const client = new FolderServiceClient(b.grpc, grpc.credentials.createInsecure());
      return {
        call: () => new Promise((resolve, reject) => client.listFolders({ pageSize: 0, pageToken: '', filter: '' }, (err) => (err ? reject(err) : resolve()))),
        close: () => client.close(),
      };
    },
  },
  'execute-rest': {
    runtime: 'process',
    prepare: async (b, c) => {
      const nodeId = await checkpointNode(b);
      return http1Driver(Number(new URL(b.http).port), 'POST', `/v1/nodes/${nodeId}:execute`, JSON.stringify({ input: { x: 3 } }), {}, c);
    },
  },
  'execute-grpc': {
    runtime: 'process',
    prepare: async (b) => {
      const nodeId = await checkpointNode(b);
      const client = new NodeServiceClient(b.grpc, grpc.credentials.createInsecure());
      return {
        call: () =>
          new Promise((resolve, reject) =>
            client.execute({ folderId: 'default', nodeId, input: { x: 3 } }, (err, res) => (err ? reject(err) : res.output?.y === 6 ? resolve() : reject(new Error(`Execute answered ${JSON.stringify(res)}`)))),
          ),
        close: () => client.close(),
      };
    },
  },
  'typed-rest': {
    runtime: 'process',
    prepare: async (b, c) => {
      const nodeId = await checkpointNode(b);
      return http1Driver(Number(new URL(b.http).port), 'POST', `/v1/nodes/${nodeId}/api:execute`, JSON.stringify({ x: 3 }), {}, c);
    },
  },
  'typed-grpc': {
    runtime: 'process',
    prepare: async (b) => {
      const nodeId = await checkpointNode(b);
      const api = await restOk(b.http, 'GET', `/v1/nodes/${nodeId}/api`);
      // The typed service is registered when Berth syncs the checkpoint nodes; wait for it.
      const driver = rawGrpcDriver(b.grpc, `/${api.service}/Execute`, TYPED_REQUEST, {});
      for (let i = 0; ; i++) {
        try {
          await driver.call();
          return driver;
        } catch (err) {
          if (i >= 50) throw err;
          await sleep(200);
        }
      }
    },
  },
  'node-api-http1': {
    runtime: 'docker',
    prepare: async (b, c) => http1Driver(b.nodeApiPort, 'GET', '/whoami', undefined, { 'x-node-id': await dockerNode(b, 'http') }, c),
  },
  'node-api-h2c': {
    runtime: 'docker',
    prepare: async (b) => h2cDriver(b.nodeApiPort, '/whoami', { 'x-node-id': await dockerNode(b, 'http') }),
  },
  'node-api-grpc': {
    runtime: 'docker',
    prepare: async (b) => rawGrpcDriver(`127.0.0.1:${b.nodeApiPort}`, '/berth.test.Echo/Echo', ECHO_REQUEST, { 'x-node-id': await dockerNode(b, 'grpc') }),
  },
};

// --- the load loop -------------------------------------------------------------------

/**
 * Makes `calls` calls with `connections` callers, or as many as fit in
 * `maxSeconds`; every call must succeed. `progress.done` counts finished calls.
 */
async function load(driver: Driver, calls: number, connections: number, progress = { done: 0 }, maxSeconds = Infinity): Promise<number> {
  let next = 0;
  let failure: Error | undefined;
  const started = Date.now();
  const until = started + maxSeconds * 1000;
  const caller = async (): Promise<void> => {
    while (failure === undefined && next < calls && Date.now() < until) {
      next++;
      try {
        await driver.call();
        progress.done++;
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, calls) }, caller));
  if (failure) throw failure;
  return (Date.now() - started) / 1000;
}

interface Sample {
  done: number;
  rss: number;
  /** RSS less V8's committed heap: native memory, code, stacks. */
  outside: number;
  heap: number;
  fullGcs: number;
}

interface Row {
  path: PathKey;
  calls: number;
  seconds: number;
  /** Berth's CPU time per 1,000 measured calls, in ms. */
  cpuPerThousand: number;
  /** The machine's 1-minute load average when the measured calls started and when they ended. */
  loadStart: number;
  loadEnd: number;
  rssWarm: number;
  rssEnd: number;
  rssPeak: number;
  heapWarm: number;
  heapEnd: number;
  /** Full collections within the first and the last window. */
  gcsWarm: number;
  gcsEnd: number;
  /** RSS floor of each fifth of the measured calls: levelling off, or climbing all along. */
  fifths: number[];
  /** Floors of RSS less V8's committed heap, in the first and the last window. */
  outsideWarm: number;
  outsideEnd: number;
}

async function soak(key: PathKey, o: Options): Promise<Row> {
  const setup = PATHS[key];
  const calls = o.calls ?? (EXECUTE_PATHS.includes(key) ? 300_000 : 100_000);
  const clusterId = `soak${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-soak-'));
  let berth: BerthProcess | undefined;
  let driver: Driver | undefined;
  try {
    log(`${key}: starting berth serve --runtime ${setup.runtime}`);
    berth = await startBerth(setup.runtime, clusterId, tmp, o.berthArgs);
    const b = berth;
    driver = await setup.prepare(b, o.connections);
    log(`${key}: warm-up, ${o.warmup} calls`);
    await load(driver, o.warmup, o.connections);
    log(`${key}: after warm-up RSS ${mb(rssOf(b.pid))} MB, live heap ${mb(b.liveHeap())} MB; ${calls} calls`);
    const progress = { done: 0 };
    const samples: Sample[] = [];
    const sample = (): void => {
      const rss = rssOf(b.pid);
      samples.push({ done: progress.done, rss, outside: rss - b.committedHeap(), heap: b.liveHeap(), fullGcs: b.fullGcs() });
    };
    sample();
    const loadStart = os.loadavg()[0]!;
    const cpuStart = cpuSecondsOf(b.pid);
    const sampler = setInterval(sample, 250);
    const reporter = setInterval(() => log(`${key}: ${progress.done} calls, RSS ${mb(rssOf(b.pid))} MB, live heap ${mb(b.liveHeap())} MB, ${b.fullGcs()} full GCs`), 30_000);
    let seconds: number;
    try {
      seconds = await load(driver, calls, o.connections, progress, o.maxSeconds);
    } finally {
      clearInterval(sampler);
      clearInterval(reporter);
    }
    sample();
    const cpuSeconds = cpuSecondsOf(b.pid) - cpuStart;
    const made = progress.done;
    if (made < calls) log(`${key}: stopped after ${o.maxSeconds} s with ${made} of ${calls} calls made`);
    const first = samples.filter((x) => x.done <= made * o.window);
    const last = samples.filter((x) => x.done >= made * (1 - o.window));
    const floor = (xs: Sample[]): number => Math.min(...xs.map((x) => x.rss));
    const outsideFloor = (xs: Sample[]): number => Math.min(...xs.map((x) => x.outside));
    const gcsIn = (xs: Sample[]): number => xs[xs.length - 1]!.fullGcs - xs[0]!.fullGcs;
    const row: Row = {
      path: key,
      calls: made,
      seconds,
      cpuPerThousand: (cpuSeconds * 1000 * 1000) / made,
      loadStart,
      loadEnd: os.loadavg()[0]!,
      rssWarm: floor(first),
      rssEnd: floor(last),
      rssPeak: Math.max(...samples.map((x) => x.rss)),
      fifths: [0, 1, 2, 3, 4].map((k) => floor(samples.filter((x) => x.done >= (made * k) / 5 && x.done <= (made * (k + 1)) / 5))),
      // The live heap after the first full collection of the measured calls, and after the last.
      heapWarm: (samples.find((x) => x.fullGcs > samples[0]!.fullGcs) ?? samples[0]!).heap,
      heapEnd: samples[samples.length - 1]!.heap,
      gcsWarm: gcsIn(first),
      gcsEnd: gcsIn(last),
      outsideWarm: outsideFloor(first),
      outsideEnd: outsideFloor(last),
    };
    log(`${key}: ${made} calls in ${seconds.toFixed(0)} s; RSS floor ${mb(row.rssWarm)} → ${mb(row.rssEnd)} MB, live heap ${mb(row.heapWarm)} → ${mb(row.heapEnd)} MB`);
    return row;
  } catch (err) {
    if (berth) log(`${key}: Berth's last log lines:\n${berth.logTail.slice(-20).join('\n')}`);
    throw err;
  } finally {
    driver?.close();
    if (berth) {
      for (const nodeId of createdNodes.splice(0)) {
        try {
          await waitOperation(berth.http, await restOk(berth.http, 'DELETE', `/v1/nodes/${nodeId}`), `delete node ${nodeId}`);
        } catch (err) {
          log(`${key}: could not delete node ${nodeId}: ${(err as Error).message}`);
        }
      }
      await stopBerth(berth);
    }
    if (setup.runtime === 'docker') await removeContainers(clusterId);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes what a Docker run left behind, by its cluster label. */
async function removeContainers(clusterId: string): Promise<void> {
  const ids = async (args: string[]): Promise<string[]> =>
    (await run('docker', args)).stdout.split('\n').filter((s) => /^[0-9a-f]+$/.test(s));
  const containers = await ids(['ps', '-aq', '--filter', `label=berth.run_id=${clusterId}`]);
  if (containers.length > 0) await run('docker', ['rm', '-f', ...containers]);
  const networks = await ids(['network', 'ls', '-q', '--filter', `label=berth.run_id=${clusterId}`]);
  if (networks.length > 0) await run('docker', ['network', 'rm', ...networks]);
}

// --- the report ----------------------------------------------------------------------

const mb = (bytes: number): string => (bytes / MB).toFixed(1);
const perHundredK = (r: Row): number => ((r.rssEnd - r.rssWarm) / MB) * (100_000 / r.calls);

function table(rows: Row[]): string {
  const lines = [
    '| path | calls | calls/s | Berth CPU ms per 1,000 calls | RSS after warm-up (MB) | RSS at end (MB) | growth per 100,000 calls (MB) | peak RSS (MB) | live heap, first → last full GC (MB) | RSS outside V8 heap, first → last (MB) | full GCs in first / last window | RSS floor of each fifth of the calls (MB) | load average | under 5 MB / 100k |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const growth = perHundredK(r);
    lines.push(
      `| ${r.path} | ${r.calls.toLocaleString('en-US')} | ${Math.round(r.calls / r.seconds)} | ${Math.round(r.cpuPerThousand)} | ${mb(r.rssWarm)} | ${mb(r.rssEnd)} | ${growth.toFixed(2)} | ${mb(r.rssPeak)} | ${mb(r.heapWarm)} → ${mb(r.heapEnd)} | ${mb(r.outsideWarm)} → ${mb(r.outsideEnd)} | ${r.gcsWarm} / ${r.gcsEnd} | ${r.fifths.map(mb).join(', ')} | ${r.loadStart.toFixed(1)} → ${r.loadEnd.toFixed(1)} | ${growth < TARGET_MB_PER_100K ? 'yes' : 'NO'} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const rows: Row[] = [];
  for (const key of o.paths) {
    rows.push(await soak(key, o));
    process.stdout.write(`\n${table(rows)}\n\n`);
  }
  const failed = rows.filter((r) => perHundredK(r) >= TARGET_MB_PER_100K);
  process.stdout.write(
    `node ${process.version}, ${os.cpus().length} cores; berth serve ${o.berthArgs.join(' ') || '(default flags)'}; warm-up ${o.warmup} calls, ${o.connections} callers; RSS floors of the first and last ${o.window * 100}% of the calls\n`,
  );
  if (failed.length > 0) {
    process.stdout.write(`over the target: ${failed.map((r) => r.path).join(', ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
