/**
 * The cold start benchmark: how long after CreateNode a node's instances are
 * Healthy, on each runtime.
 *
 *   npx tsx bench/cold-start.ts [--rows process,process-2,docker-checkpoint,docker-http] [--runs N]
 *
 * What it does, all on 127.0.0.1:
 * 1. starts a real `berth serve` child process per runtime (SQLite, its own
 *    temp data directory and cluster id): `--runtime process` for the process
 *    rows, `--runtime docker` for the Docker rows;
 * 2. captures one tiny checkpoint (for the checkpoint rows) or builds the HTTP
 *    test image (scripts/build-test-images.sh, for docker-http);
 * 3. for the Docker checkpoint row, first creates and deletes one warm-up node,
 *    not counted: Berth builds the system image on demand when the engine does
 *    not have it, and the first container start pays for cold page caches. Its
 *    time is printed on a line of its own;
 * 4. per row, `--runs` times: creates the node (REST POST /v1/nodes), starts
 *    the clock when that call returns, and polls GET /v1/nodes/{id}/instances
 *    every 10 ms until the node's `min` instances are all INSTANCE_STATE_HEALTHY
 *    (the time of the first poll that saw them so). Alongside, it waits on the
 *    create operation (POST /v1/operations/{id}:wait) and notes when that
 *    answered done, the moment a client of CreateNode learns the node is up.
 *    Then it deletes the node and waits for the delete operation before the
 *    next run, so every run starts from nothing;
 * 5. prints a markdown table: median, p90, min and max of the time to Healthy
 *    per row, the median time to the operation's done, and the target
 *    (process ≤ 0.5 s, Docker checkpoint ≤ 1.5 s) with met / not met on the
 *    median; the machine's load average before and after.
 *
 * The "from zero" rows (process-from-zero, docker-checkpoint-from-zero) time
 * a sleeping node's first call instead: one checkpoint node with min 0 and a
 * 1 s idle window is created once; per run the bench waits until the node
 * sleeps (its `Asleep` condition true, no instance left), sends one REST
 * Execute call, and times it from sent to answered (the call is held while
 * the node wakes). They get a table of their own, with the median of the
 * wake the node's status reported (`lastWakeDuration`: from the call that
 * woke it to its first healthy instance).
 *
 * Everything created is removed at the end: nodes, then containers and
 * networks labelled with the run's cluster id, then the temp directories.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import Dockerode from 'dockerode';
import { buildTestImages } from '../test/images/test-images';
import { must, rest, sleep } from './support/rest';

const ROOT = path.resolve(__dirname, '..');
const BERTH_BIN = path.join(ROOT, 'bin', 'berth.js');
/** How often the instances are polled while a node starts. */
const POLL_MS = 10;
/** The longest one start (or delete) may take before the run stops. */
const START_TIMEOUT_MS = 120_000;
/** The longest the warm-up start may take: it may build the system image. */
const WARMUP_TIMEOUT_MS = 30 * 60_000;

const ROW_KEYS = ['process', 'process-2', 'docker-checkpoint', 'docker-http', 'process-from-zero', 'docker-checkpoint-from-zero'] as const;
type RowKey = (typeof ROW_KEYS)[number];

interface RowSetup {
  label: string;
  runtime: 'process' | 'docker';
  instances: number;
  /** The target for the median, in seconds; undefined when the issue sets none. */
  targetS: number | undefined;
  /** The node's spec, given the captured checkpoint's id and the test images. */
  spec(ctx: Context): unknown;
  /** A sleeping node's first call is timed, not a CreateNode. */
  fromZero?: boolean;
}

interface Context {
  checkpointId?: string;
  httpImage?: string;
}

function checkpointSpec(ctx: Context, instances: number): unknown {
  return {
    checkpoint: {
      checkpointId: ctx.checkpointId,
      inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_FLOAT' }],
      outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_FLOAT' }],
    },
    instanceRange: { min: instances, max: instances },
  };
}

/** A checkpoint node that sleeps one second after its last call. */
function sleepySpec(ctx: Context): unknown {
  return { ...(checkpointSpec(ctx, 1) as object), instanceRange: { min: 0, max: 1 }, autoscaling: { scaleToZeroAfter: '1s' } };
}

const ROWS: Record<RowKey, RowSetup> = {
  process: { label: 'process, checkpoint node, min=max=1', runtime: 'process', instances: 1, targetS: 0.5, spec: (c) => checkpointSpec(c, 1) },
  'process-2': { label: 'process, checkpoint node, min=max=2 (all Healthy)', runtime: 'process', instances: 2, targetS: 0.5, spec: (c) => checkpointSpec(c, 2) },
  'docker-checkpoint': {
    label: 'docker, checkpoint node, min=max=1',
    runtime: 'docker',
    instances: 1,
    targetS: 1.5,
    spec: (c) => checkpointSpec(c, 1),
  },
  'docker-http': {
    label: 'docker, Docker node (HTTP test image), min=max=1',
    runtime: 'docker',
    instances: 1,
    targetS: undefined,
    // The body of test/e2e/docker-nodes.test.ts: HTTP health check on /healthz every 0.3 s.
    spec: (c) => ({
      docker: {
        image: c.httpImage,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
      },
      instanceRange: { min: 1, max: 1 },
    }),
  },
  'process-from-zero': {
    label: 'process, checkpoint node from zero (min 0, asleep)',
    runtime: 'process',
    instances: 1,
    targetS: undefined,
    spec: sleepySpec,
    fromZero: true,
  },
  'docker-checkpoint-from-zero': {
    label: 'docker, checkpoint node from zero (min 0, asleep)',
    runtime: 'docker',
    instances: 1,
    targetS: undefined,
    spec: sleepySpec,
    fromZero: true,
  },
};

interface Options {
  rows: RowKey[];
  runs: number;
}

const USAGE = `usage: npx tsx bench/cold-start.ts [options]
  --rows LIST   rows to measure, in this order (default: all)
                ${ROW_KEYS.join(',')}
  --runs N      starts per row (default 10)`;

function parseOptions(argv: string[]): Options {
  const o: Options = { rows: [...ROW_KEYS], runs: 10 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--rows') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      const unknown = list.filter((r) => !(ROW_KEYS as readonly string[]).includes(r));
      if (list.length === 0 || unknown.length > 0) throw new Error(`--rows: unknown ${unknown.join(', ') || '(empty)'}\n${USAGE}`);
      o.rows = list as RowKey[];
    } else if (flag === '--runs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--runs needs a whole number of at least 1\n${USAGE}`);
      o.runs = n;
    } else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return o;
}

function log(message: string): void {
  process.stderr.write(`[cold-start ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const seconds = (fromNs: bigint): number => Number(process.hrtime.bigint() - fromNs) / 1e9;

// --- Berth as a child process ---------------------------------------------------------

interface Serve {
  proc: ChildProcess;
  http: string;
  dataDir: string;
  clusterId: string;
  exited: Promise<number | null>;
}

async function startServe(runtime: 'process' | 'docker'): Promise<Serve> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-cold-start-'));
  const clusterId = `cold${randomBytes(4).toString('hex')}`;
  const proc = spawn(
    process.execPath,
    [
      BERTH_BIN, 'serve',
      '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir,
      '--runtime', runtime,
      '--cluster-id', clusterId,
      '--pull-images', 'false',
      // Loopback only: the bench measures starting instances, not API keys.
      '--auth', 'none',
      // The warm-up may build the system image; the measured runs have their own bound.
      '--startup-timeout-ms', String(WARMUP_TIMEOUT_MS),
    ],
    { env: { ...process.env, BERTH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const http = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth serve did not start within 60 s:\n${stderr}`)), 60_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (!line.includes('berth is serving')) return;
      clearTimeout(timer);
      resolve(`http://127.0.0.1:${(JSON.parse(line) as { httpPort: number }).httpPort}`);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`berth serve exited with ${code}:\n${stderr}`));
    });
  });
  return { proc, http, dataDir, clusterId, exited };
}

async function stopServe(s: Serve): Promise<void> {
  if (s.proc.exitCode !== null) return;
  s.proc.kill('SIGTERM');
  const code = await Promise.race([s.exited, sleep(30_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') s.proc.kill('SIGKILL');
}

/** Deletes any node left over from a failed run and waits (bounded) for the deletes. */
async function deleteAll(s: Serve): Promise<void> {
  const body = await rest(s.http, 'GET', '/v1/nodes?folderId=default&pageSize=1000').catch(() => undefined);
  const nodes: any[] = body?.body?.nodes ?? [];
  if (nodes.length === 0) return;
  log(`deleting ${nodes.length} leftover nodes`);
  await Promise.all(nodes.map((n) => deleteNode(s, n.id).catch(() => undefined)));
}

async function removeByClusterId(clusterId: string): Promise<void> {
  const docker = new Dockerode();
  const filters = { label: [`berth.run_id=${clusterId}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}

// --- one start ----------------------------------------------------------------------------

async function waitOperation(s: Serve, id: string, what: string, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // :wait answers at its timeout even when not done; ask again until the bound.
    const op = await must(`${what}: wait`, rest(s.http, 'POST', `/v1/operations/${id}:wait`, { timeout: '30s' }));
    if (op.done) {
      if (op.error) throw new Error(`${what}: ${JSON.stringify(op.error)}`);
      return op;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not done after ${timeoutMs / 1000} s`);
  }
}

async function deleteNode(s: Serve, nodeId: string): Promise<void> {
  const op = await must('DeleteNode', rest(s.http, 'DELETE', `/v1/nodes/${nodeId}`));
  await waitOperation(s, op.id, 'DeleteNode', START_TIMEOUT_MS);
}

interface Start {
  /** CreateNode's own answer time. */
  createS: number;
  /** From CreateNode answering to the first poll that saw every instance Healthy. */
  healthyS: number;
  /** From CreateNode answering to its operation's :wait answering done. */
  operationS: number;
}

let nodeCounter = 0;

/** Creates a node, times its start, deletes it (waiting for the delete). */
async function coldStart(s: Serve, spec: unknown, instances: number, timeoutMs: number): Promise<Start> {
  const name = `cold-${String(++nodeCounter).padStart(3, '0')}`;
  const sent = process.hrtime.bigint();
  const op = await must('CreateNode', rest(s.http, 'POST', '/v1/nodes', { folderId: 'default', name, spec }));
  const t0 = process.hrtime.bigint();
  const createS = Number(t0 - sent) / 1e9;
  const nodeId: string = op.resourceId;
  try {
    const operation = waitOperation(s, op.id, `CreateNode ${name}`, timeoutMs).then(() => seconds(t0));
    // Seen by the poll below if the operation fails first.
    operation.catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    let healthyS: number | undefined;
    while (healthyS === undefined) {
      const res = await must('ListInstances', rest(s.http, 'GET', `/v1/nodes/${nodeId}/instances`));
      const list: any[] = res.instances ?? [];
      if (list.filter((i) => i.state === 'INSTANCE_STATE_HEALTHY').length >= instances) {
        healthyS = seconds(t0);
        break;
      }
      if (Date.now() > deadline) throw new Error(`${name}: not Healthy after ${timeoutMs / 1000} s: ${JSON.stringify(list.map((i) => [i.state, i.reason]))}`);
      const failed = await Promise.race([operation.then(() => false, () => true), sleep(POLL_MS).then(() => false)]);
      if (failed) await operation;
    }
    return { createS, healthyS, operationS: await operation };
  } finally {
    await deleteNode(s, nodeId);
  }
}

/** Waits (bounded) until the node sleeps: its `Asleep` condition true and no instance left. */
async function waitAsleep(s: Serve, nodeId: string): Promise<any> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const node = await must('GetNode', rest(s.http, 'GET', `/v1/nodes/${nodeId}`));
    const instances = (await must('ListInstances', rest(s.http, 'GET', `/v1/nodes/${nodeId}/instances`))).instances ?? [];
    const asleep = (node.status.conditions as any[]).some((c) => c.type === 'Asleep' && c.status === true);
    if (asleep && instances.length === 0) return node;
    if (Date.now() > deadline) throw new Error(`${nodeId}: not asleep after ${START_TIMEOUT_MS / 1000} s: ${node.status.reason}`);
    await sleep(100);
  }
}

/** The status's `lastWakeDuration` ("1.234s") in seconds, once it names a wake after `after`. */
async function statusWake(s: Serve, nodeId: string, after: string | undefined): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const node = await must('GetNode', rest(s.http, 'GET', `/v1/nodes/${nodeId}`));
    if (node.status.lastWakeDuration && node.status.lastWakeTime !== after) return Number(String(node.status.lastWakeDuration).replace(/s$/, ''));
    if (Date.now() > deadline) throw new Error(`${nodeId}: the status names no new wake`);
    await sleep(20);
  }
}

interface Wake {
  /** From the first call sent to its answer, the node asleep before. */
  answerS: number;
  /** The wake the node's status reported. */
  statusS: number;
}

/** Creates a sleeping node, then `runs` times: waits for it to sleep, times one Execute call; deletes it. */
async function fromZero(s: Serve, spec: unknown, runs: number, timeoutMs: number): Promise<Wake[]> {
  const name = `zero-${String(++nodeCounter).padStart(3, '0')}`;
  const op = await must('CreateNode', rest(s.http, 'POST', '/v1/nodes', { folderId: 'default', name, spec }));
  const nodeId: string = op.resourceId;
  const wakes: Wake[] = [];
  try {
    await waitOperation(s, op.id, `CreateNode ${name}`, timeoutMs);
    for (let i = 0; i < runs; i++) {
      const asleep = await waitAsleep(s, nodeId);
      const sent = process.hrtime.bigint();
      const res = await rest(s.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 1 } });
      const answerS = seconds(sent);
      if (res.status !== 200 || res.body.output?.y !== 2) throw new Error(`${name}: the call from zero failed: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      const statusS = await statusWake(s, nodeId, asleep.status.lastWakeTime);
      log(`  run ${i + 1}: answered ${fmt(answerS)} after the call was sent; the status says the wake took ${fmt(statusS)}`);
      wakes.push({ answerS, statusS });
    }
    return wakes;
  } finally {
    await deleteNode(s, nodeId);
  }
}

// --- the table ------------------------------------------------------------------------------

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Result {
  key: RowKey;
  starts: Start[];
  wakes?: Wake[];
}

const fmt = (s: number): string => `${s.toFixed(3)} s`;

function format(r: Result): string {
  const row = ROWS[r.key];
  const healthy = r.starts.map((x) => x.healthyS).sort((a, b) => a - b);
  const med = median(healthy);
  const target = row.targetS === undefined ? '—' : `≤ ${row.targetS} s`;
  const met = row.targetS === undefined ? '—' : med <= row.targetS ? 'met' : 'not met';
  return (
    `| ${row.label} | ${r.starts.length} | ${fmt(med)} | ${fmt(percentile(healthy, 90))} | ${fmt(healthy[0]!)} | ${fmt(healthy[healthy.length - 1]!)} | ` +
    `${fmt(median(r.starts.map((x) => x.operationS)))} | ${fmt(median(r.starts.map((x) => x.createS)))} | ${target} | ${met} |`
  );
}

function formatFromZero(r: Result): string {
  const answers = (r.wakes ?? []).map((w) => w.answerS).sort((a, b) => a - b);
  return (
    `| ${ROWS[r.key].label} | ${answers.length} | ${fmt(median(answers))} | ${fmt(percentile(answers, 90))} | ${fmt(answers[0]!)} | ` +
    `${fmt(answers[answers.length - 1]!)} | ${fmt(median((r.wakes ?? []).map((w) => w.statusS)))} |`
  );
}

const loadAverage = (): string => os.loadavg().map((l) => l.toFixed(2)).join(', ');

// --- main -----------------------------------------------------------------------------------

async function measureRuntime(o: Options, runtime: 'process' | 'docker', results: Result[], notes: string[]): Promise<void> {
  const keys = o.rows.filter((k) => ROWS[k].runtime === runtime);
  if (keys.length === 0) return;
  const ctx: Context = {};
  if (keys.includes('docker-http')) {
    log('building the test images');
    ctx.httpImage = (await buildTestImages()).http;
  }
  log(`starting berth serve --runtime ${runtime}`);
  const s = await startServe(runtime);
  try {
    const needsCheckpoint = keys.some((k) => k !== 'docker-http');
    if (needsCheckpoint) {
      const started = process.hrtime.bigint();
      const captured = await must(
        'CreateCheckpoint',
        rest(s.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'cold', cells: { cells: ['x = 1.0', 'y = x * 2'] }, servedCellIndex: 1 }),
      );
      // Under docker the capture runs in the system image, which Berth builds here when the engine lacks it.
      ctx.checkpointId = (await waitOperation(s, captured.id, 'capture', WARMUP_TIMEOUT_MS)).resourceId;
      log(`  captured in ${fmt(seconds(started))}`);
      if (runtime === 'docker') notes.push(`docker: the capture (which builds the system image when missing) took ${fmt(seconds(started))}`);
    }
    if (keys.includes('docker-checkpoint') || keys.includes('docker-checkpoint-from-zero')) {
      log('  warm-up: one Docker checkpoint node, not counted');
      const w = await coldStart(s, ROWS['docker-checkpoint'].spec(ctx), 1, WARMUP_TIMEOUT_MS);
      notes.push(`docker checkpoint warm-up node (not in the table): Healthy ${fmt(w.healthyS)} after CreateNode, operation done at ${fmt(w.operationS)}`);
    }
    for (const key of keys) {
      const row = ROWS[key];
      log(`${row.label}: ${o.runs} runs`);
      if (row.fromZero) {
        results.push({ key, starts: [], wakes: await fromZero(s, row.spec(ctx), o.runs, START_TIMEOUT_MS) });
        continue;
      }
      const starts: Start[] = [];
      for (let i = 0; i < o.runs; i++) {
        const start = await coldStart(s, row.spec(ctx), row.instances, START_TIMEOUT_MS);
        log(`  run ${i + 1}: Healthy ${fmt(start.healthyS)}, operation done ${fmt(start.operationS)}, CreateNode ${fmt(start.createS)}`);
        starts.push(start);
      }
      results.push({ key, starts });
    }
  } finally {
    await deleteAll(s).catch((err: unknown) => log(`cleanup: ${String(err)}`));
    await stopServe(s);
    if (runtime === 'docker') await removeByClusterId(s.clusterId).catch((err: unknown) => log(`docker cleanup: ${String(err)}`));
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const loadBefore = loadAverage();
  const started = Date.now();
  const results: Result[] = [];
  const notes: string[] = [];
  try {
    await measureRuntime(o, 'process', results, notes);
    await measureRuntime(o, 'docker', results, notes);
  } finally {
    results.sort((a, b) => ROW_KEYS.indexOf(a.key) - ROW_KEYS.indexOf(b.key));
    const lines = [
      `Berth: ${path.relative(process.cwd(), BERTH_BIN)}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}; ${Math.round((Date.now() - started) / 1000)} s in all`,
      `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAverage()}`,
      `Method: the clock starts when REST POST /v1/nodes answers; "Healthy" is the first poll of GET /v1/nodes/{id}/instances (every ${POLL_MS} ms) ` +
        `that shows the node's min instances all INSTANCE_STATE_HEALTHY; "operation done" is when POST /v1/operations/{id}:wait (called at once, alongside) answered done. ` +
        `The node is deleted, and the delete operation waited for, between runs. Target met when the median time to Healthy is within it.`,
      ...notes,
      '',
      '| row | runs | Healthy median | p90 | min | max | operation done median | CreateNode call median | target | met |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
      ...results.filter((r) => !ROWS[r.key].fromZero).map(format),
    ];
    const zero = results.filter((r) => ROWS[r.key].fromZero);
    if (zero.length > 0)
      lines.push(
        '',
        `From zero: a node with min 0 asleep (1 s idle window); the clock runs from sending one REST Execute call to its answer. "status wake" is the node's own lastWakeDuration (from the call that woke it to its first healthy instance).`,
        '',
        '| row | runs | first call answered, median | p90 | min | max | status wake median |',
        '|---|---:|---:|---:|---:|---:|---:|',
        ...zero.map(formatFromZero),
      );
    console.log(lines.join('\n'));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
