/**
 * The Execute benchmark: what Berth adds to a call of a served cell, against
 * calling the cell's worker directly.
 *
 *   npx tsx bench/execute.ts [--calls N] [--sizes small,1m,16m] [--paths direct,rest,grpc,typed] [--max-seconds S] [--profile DIR]
 *
 * What it does, all on 127.0.0.1:
 * 1. starts a real `berth serve --runtime process` child process with its own
 *    temp data dir (SQLite);
 * 2. captures a notebook whose served cell is `y = x` and serves it on two
 *    checkpoint nodes of one instance each (instanceRange min = max = 1): one
 *    declares `x` and `y` as int (the small calls), the other as str (the
 *    large calls, so that the response is as large as the request);
 * 3. for each size and path, after a warm-up: calls at 1 connection (p50 and
 *    p99 latency, MB/s of one caller), then at 4 concurrent connections
 *    (calls/s, MB/s); Berth's CPU time (utime + stime of the `berth serve`
 *    process in /proc/<pid>/stat) is read before and after each row;
 * 4. prints the table, the command and the machine's load average before and
 *    after; deletes the nodes, stops Berth and removes the temp dir.
 *
 * The paths:
 * - direct: POST /execute on the worker's own port, with the instance's
 *   token and the body Berth itself sends (src/gateway/checkpoint-executor.ts);
 * - rest:   POST /v1/nodes/{id}:execute;
 * - grpc:   berth.v1.NodeService/Execute;
 * - typed:  POST /v1/nodes/{id}/api:execute (the node's typed route).
 *
 * Every request is encoded once, before the calls, and responses are checked
 * by their length (the first one of each row in full), so that the client's
 * own JSON and protobuf work stays out of the numbers as far as it can.
 *
 * Sizes: "small" is the number 3; "1m" a 1 MiB ASCII string; "16m" a string
 * of 16 MiB - 64 KiB, which with the JSON or protobuf framing around it stays
 * under Berth's default 16 MiB message limit (--max-message-bytes) on every
 * path, request and response. MB/s counts the input once (1 MB = 10^6 bytes).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { NodeExecutionRequest, NodeExecutionResponse, NodeServiceService } from '../gen/berth/v1/node_service';
import { WorkerTokens, workerAuthorization } from '../src/checkpoint/worker-token';
import { summarizeProfile } from './support/profile';
import { must, rest, sleep } from './support/rest';

const ROOT = path.resolve(__dirname, '..');
const BERTH_BIN = path.join(ROOT, 'bin', 'berth.js');
const MIB = 1024 * 1024;
const FOLDER = 'default';

// --- options ---------------------------------------------------------------------

const PATH_KEYS = ['direct', 'rest', 'grpc', 'typed'] as const;
type PathKey = (typeof PATH_KEYS)[number];

interface Size {
  key: string;
  label: string;
  /** The input: a number, or a string of this many ASCII characters. */
  chars: number | undefined;
  /** Calls at 1 connection and at 4, with the default --calls. */
  calls1: number;
  calls4: number;
}

const SIZES: Size[] = [
  { key: 'small', label: 'small (x = 3)', chars: undefined, calls1: 2000, calls4: 4000 },
  { key: '1m', label: '1 MiB str', chars: MIB, calls1: 200, calls4: 200 },
  { key: '16m', label: '16 MiB - 64 KiB str', chars: 16 * MIB - 64 * 1024, calls1: 30, calls4: 20 },
];
const DEFAULT_CALLS = 2000;
const CONNECTIONS = 4;

interface Options {
  /** Scales every row's calls: N small calls at 1 connection, the rest in proportion. */
  calls: number;
  sizes: Size[];
  paths: PathKey[];
  /** Stop a row's measured calls (each phase) after this long. */
  maxSeconds: number;
  /** Run Berth under --cpu-prof, writing its profile here, and print where its CPU went. */
  profile: string | undefined;
}

const USAGE = `usage: npx tsx bench/execute.ts [options]
  --calls N          small calls at 1 connection (default ${DEFAULT_CALLS}); every other
                     count in proportion (defaults: small ${SIZES[0]!.calls1}/${SIZES[0]!.calls4},
                     1m ${SIZES[1]!.calls1}/${SIZES[1]!.calls4}, 16m ${SIZES[2]!.calls1}/${SIZES[2]!.calls4} at 1/4 connections)
  --sizes LIST       ${SIZES.map((s) => s.key).join(',')} (default: all)
  --paths LIST       ${PATH_KEYS.join(',')} (default: all, in this order)
  --max-seconds S    stop each phase of a row after S seconds (default 60)
  --profile DIR      run Berth under node --cpu-prof (profile written in DIR) and print
                     where its CPU went; the profiler's own cost is in every number then
`;

function parseOptions(argv: string[]): Options {
  const o: Options = { calls: DEFAULT_CALLS, sizes: [...SIZES], paths: [...PATH_KEYS], maxSeconds: 60, profile: undefined };
  const list = (name: string, value: string | undefined, known: readonly string[]): string[] => {
    const items = (value ?? '').split(',').filter(Boolean);
    const unknown = items.filter((i) => !known.includes(i));
    if (items.length === 0 || unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ') || '(empty)'}\n${USAGE}`);
    return items;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--calls': {
        const n = Number(argv[++i]);
        if (!Number.isInteger(n) || n < 10) throw new Error(`--calls needs a whole number of at least 10\n${USAGE}`);
        o.calls = n;
        break;
      }
      case '--sizes': {
        const keys = list(arg, argv[++i], SIZES.map((s) => s.key));
        o.sizes = SIZES.filter((s) => keys.includes(s.key));
        break;
      }
      case '--paths':
        o.paths = list(arg, argv[++i], PATH_KEYS) as PathKey[];
        break;
      case '--max-seconds': {
        const n = Number(argv[++i]);
        if (!(n > 0)) throw new Error(`--max-seconds needs a positive number\n${USAGE}`);
        o.maxSeconds = n;
        break;
      }
      case '--profile': {
        const dir = argv[++i];
        if (dir === undefined) throw new Error(`--profile needs a directory\n${USAGE}`);
        o.profile = path.resolve(dir);
        break;
      }
      case '--help':
      case '-h':
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
  process.stderr.write(`[execute ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// --- the Berth under test ----------------------------------------------------------

interface BerthProcess {
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  http: string;
  grpc: string;
  /** Berth's last log lines. */
  logTail(): string[];
}

/**
 * Starts Berth with its default log level; its output goes to a file in the
 * data dir rather than through a pipe, so that reading its log (an access
 * line per call) costs this process nothing while it measures.
 */
async function startBerth(clusterId: string, dataDir: string, profile: string | undefined): Promise<BerthProcess> {
  const args = [
    ...(profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profile]),
    BERTH_BIN, 'serve',
    '--runtime', 'process', '--cluster-id', clusterId, '--data-dir', dataDir,
    '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
    // Loopback only; the key check is not what this bench measures.
    '--auth', 'none',
  ];
  const logFile = path.join(dataDir, 'berth.log');
  const out = openSync(logFile, 'w');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const logTail = (): string[] => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-8);
    } catch {
      return [];
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`berth serve exited with ${proc.exitCode} before serving:\n${logTail().join('\n')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`berth serve did not start within 60 s:\n${logTail().join('\n')}`);
    }
    const serving = readFileSync(logFile, 'utf8')
      .split('\n')
      .map((line) => {
        try {
          return JSON.parse(line);
        } catch {
          return undefined;
        }
      })
      .find((entry) => entry?.msg === 'berth is serving');
    if (serving) return { proc, pid: proc.pid!, exited, http: `http://127.0.0.1:${serving.httpPort}`, grpc: `127.0.0.1:${serving.grpcPort}`, logTail };
    await sleep(100);
  }
}

async function stopBerth(b: BerthProcess): Promise<void> {
  if (b.proc.exitCode !== null) return;
  b.proc.kill('SIGTERM');
  const timer = setTimeout(() => b.proc.kill('SIGKILL'), 15_000);
  await b.exited;
  clearTimeout(timer);
}

/** Clock ticks per second of /proc's counters (USER_HZ): 100 on Linux. */
const CLOCK_TICKS = 100;

/** utime + stime of one process (all its threads, not its children), in ms. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
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

/** The smallest served cell: its output is its input. */
const NOTEBOOK = JSON.stringify({
  cells: [{ cell_type: 'code', source: 'y = x', metadata: {}, outputs: [], execution_count: null }],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});

interface ServedNode {
  id: string;
  /** The worker's own port and the token it requires. */
  workerPort: number;
  workerToken: string;
}

async function servedNode(b: BerthProcess, tokens: WorkerTokens, checkpointId: string, name: string, type: 'int' | 'str'): Promise<ServedNode> {
  const variableType = type === 'int' ? 'VARIABLE_TYPE_INT' : 'VARIABLE_TYPE_STR';
  const created = await restOk(b.http, 'POST', '/v1/nodes', {
    folderId: FOLDER,
    name,
    spec: {
      checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: variableType }], outputVariables: [{ name: 'y', type: variableType }] },
      instanceRange: { min: 1, max: 1 },
    },
  });
  const id = (await waitOperation(b.http, created, `create node ${name}`)).resourceId as string;
  const instances: any[] = (await restOk(b.http, 'GET', `/v1/nodes/${id}/instances`)).instances;
  const healthy = instances.filter((i) => i.state === 'INSTANCE_STATE_HEALTHY');
  const address = /^127\.0\.0\.1:(\d+)$/.exec(healthy[0]?.address ?? '');
  if (healthy.length !== 1 || !address) throw new Error(`node ${name}: expected one healthy instance on 127.0.0.1, got ${JSON.stringify(instances)}`);
  return { id, workerPort: Number(address[1]), workerToken: tokens.of(healthy[0].id) };
}

// --- the calls -------------------------------------------------------------------------

/** One call; resolves the response's size in bytes, rejects when it failed. */
interface Driver {
  call(): Promise<number>;
  /** One call whose response is decoded and compared with the input. */
  check(): Promise<void>;
  close(): void;
}

function postJson(agent: http.Agent, port: number, urlPath: string, body: Buffer, headers: Record<string, string>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: urlPath, agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const answer = Buffer.concat(chunks);
          if (res.statusCode === 200) resolve(answer);
          else reject(new Error(`POST ${urlPath}: HTTP ${res.statusCode} ${answer.subarray(0, 500).toString()}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An HTTP/1.1 keep-alive JSON driver; `output` picks the echoed value out of a decoded answer. */
function httpDriver(port: number, urlPath: string, request: unknown, headers: Record<string, string>, expected: unknown, output: (answer: any) => unknown): Driver {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const body = Buffer.from(JSON.stringify(request));
  // A lower bound on a correct answer's size: a shorter one cannot hold the echoed input.
  const least = JSON.stringify(expected).length;
  return {
    call: async () => {
      const answer = await postJson(agent, port, urlPath, body, headers);
      if (answer.length < least) throw new Error(`POST ${urlPath}: a ${answer.length}-byte answer cannot hold the input: ${answer.subarray(0, 200).toString()}`);
      return answer.length;
    },
    check: async () => {
      const answer = JSON.parse((await postJson(agent, port, urlPath, body, headers)).toString('utf8'));
      // Int64 fields travel as JSON strings on the typed route (proto3 JSON), so compare as text.
      if (String(output(answer)) !== String(expected)) throw new Error(`POST ${urlPath} answered ${JSON.stringify(answer).slice(0, 300)}`);
    },
    close: () => agent.destroy(),
  };
}

/** NodeService/Execute with the request encoded once; the answer is decoded only by check(). */
function grpcDriver(address: string, nodeId: string, input: number | string): Driver {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const request = Buffer.from(NodeExecutionRequest.encode({ folderId: FOLDER, nodeId, input: { x: input } }).finish());
  const identity = (b: Buffer): Buffer => b;
  const least = typeof input === 'string' ? input.length : 1;
  const call = (): Promise<Buffer> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest(NodeServiceService.execute.path, identity, identity, request, new grpc.Metadata(), (err, res) => (err ? reject(err) : resolve(res!))),
    );
  return {
    call: async () => {
      const answer = await call();
      if (answer.length < least) throw new Error(`Execute: a ${answer.length}-byte answer cannot hold the input`);
      return answer.length;
    },
    check: async () => {
      const answer = NodeExecutionResponse.decode(await call());
      if (answer.output?.y !== input) throw new Error(`Execute answered ${JSON.stringify(answer).slice(0, 300)}`);
    },
    close: () => client.close(),
  };
}

function driverOf(key: PathKey, b: BerthProcess, node: ServedNode, input: number | string, type: 'int' | 'str'): Driver {
  const httpPort = Number(new URL(b.http).port);
  switch (key) {
    case 'direct': {
      // What Berth's checkpoint executor posts to the worker.
      const body = { inputs: { x: input }, input_types: { x: type }, outputs: [{ name: 'y', type }] };
      return httpDriver(node.workerPort, '/execute', body, { authorization: workerAuthorization(node.workerToken) }, input, (a) => a.outputs?.y);
    }
    case 'rest':
      return httpDriver(httpPort, `/v1/nodes/${node.id}:execute`, { input: { x: input } }, {}, input, (a) => a.output?.y);
    case 'typed':
      return httpDriver(httpPort, `/v1/nodes/${node.id}/api:execute`, { x: input }, {}, input, (a) => a.y);
    case 'grpc':
      return grpcDriver(b.grpc, node.id, input);
  }
}

/**
 * Makes up to `calls` calls with `connections` callers, stopping after
 * `maxSeconds`; every call must succeed. Resolves each call's latency (ms)
 * and the phase's wall time (s).
 */
async function load(driver: Driver, calls: number, connections: number, maxSeconds: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  let failure: Error | undefined;
  const started = process.hrtime.bigint();
  const until = Date.now() + maxSeconds * 1000;
  const caller = async (): Promise<void> => {
    while (failure === undefined && next < calls && Date.now() < until) {
      next++;
      const t0 = process.hrtime.bigint();
      try {
        await driver.call();
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, calls) }, caller));
  if (failure) throw failure;
  return { latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// --- one row -------------------------------------------------------------------------

interface Row {
  size: Size;
  path: PathKey;
  calls1: number;
  p50: number;
  p99: number;
  /** Input MB/s of the one caller: input bytes × calls ÷ seconds. */
  mbps1: number;
  calls4: number;
  perSecond4: number;
  mbps4: number;
  /** Berth's CPU (ms) over both phases, per call. */
  cpuPerCall: number;
  /** Both phases stopped by --max-seconds before their calls were made. */
  cut: boolean;
}

async function measureRow(driver: Driver, size: Size, key: PathKey, o: Options, berthPid: number): Promise<Row> {
  const scale = o.calls / DEFAULT_CALLS;
  const calls1 = Math.max(3, Math.round(size.calls1 * scale));
  const calls4 = Math.max(CONNECTIONS, Math.round(size.calls4 * scale));
  await driver.check();
  // Warm-up: connections open, code paths compiled, the worker's buffers grown.
  await load(driver, Math.max(CONNECTIONS, Math.round(calls1 / 10)), CONNECTIONS, o.maxSeconds);
  const bytes = size.chars ?? 0;
  const cpuBefore = cpuMsOf(berthPid);
  const one = await load(driver, calls1, 1, o.maxSeconds);
  const four = await load(driver, calls4, CONNECTIONS, o.maxSeconds);
  const cpu = cpuMsOf(berthPid) - cpuBefore;
  const sorted = [...one.latencies].sort((a, b) => a - b);
  const made1 = one.latencies.length;
  const made4 = four.latencies.length;
  return {
    size,
    path: key,
    calls1: made1,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mbps1: (bytes * made1) / one.seconds / 1e6,
    calls4: made4,
    perSecond4: made4 / four.seconds,
    mbps4: (bytes * made4) / four.seconds / 1e6,
    cpuPerCall: cpu / (made1 + made4),
    cut: made1 < calls1 || made4 < calls4,
  };
}

// --- the report ----------------------------------------------------------------------

const PATH_LABELS: Record<PathKey, string> = {
  direct: 'direct worker POST /execute',
  rest: 'Berth REST POST /v1/nodes/{id}:execute',
  grpc: 'Berth gRPC NodeService/Execute',
  typed: 'Berth typed REST POST /v1/nodes/{id}/api:execute',
};

function table(rows: Row[]): string {
  const f = (n: number, digits: number): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const lines = [
    `| size | path | calls (1 / ${CONNECTIONS} conns) | p50 ms (1 conn) | p99 ms (1 conn) | Berth's added p50 ms | calls/s (${CONNECTIONS} conns) | × direct | MB/s (1 conn) | MB/s (${CONNECTIONS} conns) | Berth CPU ms / call |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const direct = rows.find((d) => d.size === r.size && d.path === 'direct');
    const isDirect = r.path === 'direct';
    const large = r.size.chars !== undefined;
    lines.push(
      `| ${r.size.label} | ${PATH_LABELS[r.path]} | ${r.calls1} / ${r.calls4}${r.cut ? ' (cut by --max-seconds)' : ''} | ${f(r.p50, 2)} | ${f(r.p99, 2)} | ` +
        `${isDirect || !direct ? '' : `+${f(r.p50 - direct.p50, 2)}`} | ${f(r.perSecond4, 0)} | ${isDirect || !direct ? '' : `${f(r.perSecond4 / direct.perSecond4, 2)} ×`} | ` +
        `${large ? f(r.mbps1, 0) : ''} | ${large ? f(r.mbps4, 0) : ''} | ${f(r.cpuPerCall, 3)} |`,
    );
  }
  return lines.join('\n');
}

const loadAverage = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(', ');

// --- main ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  const loadBefore = loadAverage();
  const clusterId = `exec${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-execute-'));
  let berth: BerthProcess | undefined;
  const nodeIds: string[] = [];
  const rows: Row[] = [];
  try {
    log(`starting berth serve --runtime process (data dir ${tmp})`);
    if (o.profile !== undefined) mkdirSync(o.profile, { recursive: true });
    berth = await startBerth(clusterId, tmp, o.profile);
    const b = berth;
    const tokens = await WorkerTokens.load(tmp);
    log('capturing the checkpoint (y = x)');
    const capture = await waitOperation(b.http, await restOk(b.http, 'POST', '/v1/checkpoints', { folderId: FOLDER, name: 'echo', notebook: NOTEBOOK, servedCellIndex: 0 }), 'capture');
    const checkpointId = capture.response.id as string;
    const nodes: Partial<Record<'int' | 'str', ServedNode>> = {};
    for (const type of ['int', 'str'] as const) {
      if (!o.sizes.some((s) => (s.chars === undefined) === (type === 'int'))) continue;
      log(`creating the ${type} node (one instance)`);
      nodes[type] = await servedNode(b, tokens, checkpointId, `echo-${type}`, type);
      nodeIds.push(nodes[type]!.id);
    }
    for (const size of o.sizes) {
      const type = size.chars === undefined ? 'int' : 'str';
      const input = size.chars === undefined ? 3 : 'x'.repeat(size.chars);
      for (const key of o.paths) {
        log(`${size.label}, ${key}`);
        const driver = driverOf(key, b, nodes[type]!, input, type);
        try {
          const row = await measureRow(driver, size, key, o, b.pid);
          rows.push(row);
          log(`  p50 ${row.p50.toFixed(2)} ms, p99 ${row.p99.toFixed(2)} ms; ${Math.round(row.perSecond4)} calls/s at ${CONNECTIONS} connections; Berth ${row.cpuPerCall.toFixed(3)} ms CPU per call`);
        } finally {
          driver.close();
        }
      }
    }
    if (b.proc.exitCode !== null) throw new Error(`berth serve exited during the run:\n${b.logTail().join('\n')}`);
  } catch (err) {
    if (berth) log(`Berth's last log lines:\n${berth.logTail().join('\n')}`);
    throw err;
  } finally {
    if (berth) {
      // Instances outlive a stopped Berth (its next start adopts them): delete the nodes first.
      for (const nodeId of nodeIds) {
        try {
          await waitOperation(berth.http, await restOk(berth.http, 'DELETE', `/v1/nodes/${nodeId}`), `delete node ${nodeId}`);
        } catch (err) {
          log(`could not delete node ${nodeId}: ${(err as Error).message}`);
        }
      }
      await stopBerth(berth);
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  const berthFrom = existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'berth.js')) ? 'berth from dist/ (npm run build)' : 'berth from the TypeScript sources through tsx';
  process.stdout.write(
    `\n${table(rows)}\n\n` +
      `command: ${['npx tsx bench/execute.ts', ...argv].join(' ')}\n` +
      `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${berthFrom}; one instance per node; ` +
      `every phase after a warm-up of a tenth of its calls\n` +
      `load average (1, 5, 15 min): before ${loadBefore}; after ${loadAverage()}\n`,
  );
  if (o.profile !== undefined) process.stdout.write(`\n${summarizeProfile(o.profile)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/execute.ts: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
