/**
 * The scale benchmark: what Berth costs at rest, and how fast ListNodes
 * answers, as the number of nodes grows, all on one host.
 *
 *   npx tsx bench/scale.ts [--sizes 1,10,100,200] [--docker 100] [--rest 25] [--calls 200]
 *
 * What it does, all on 127.0.0.1:
 * 1. starts a real `berth serve --runtime process` child process (SQLite, its
 *    own data directory and cluster id), captures one tiny checkpoint and
 *    grows to each size in turn with checkpoint nodes of one instance each
 *    (a Python worker per node);
 * 2. at each size, once every node is Healthy and a few seconds have passed,
 *    reads Berth's CPU time (utime + stime of its process, from
 *    /proc/<pid>/stat) over `--rest` seconds with no call made, then times
 *    `--calls` REST `GET /v1/nodes?pageSize=1000` calls one after another
 *    (every node in one page) and reports p50 and p99;
 * 3. does the same with `--docker` Docker nodes of a tiny image in another
 *    `berth serve --runtime docker`: Debian's `busybox-static` httpd in a
 *    `FROM scratch` image built here (the package is installed with apt-get
 *    when missing), one instance per node, each node on its own network;
 * 4. prints a table (markdown) and removes everything: nodes, containers,
 *    networks labelled with the run's cluster id, temp directories.
 *
 * Only Berth's own process is counted: the Python workers, the containers and
 * the Docker engine are not. `--berth PATH` measures another build (e.g. an
 * older commit's `bin/berth.js`) for a before/after; `--profile DIR` runs
 * Berth under `node --cpu-prof` and writes one profile per scenario there.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { must, rest, sleep } from './support/rest';

const ROOT = path.resolve(__dirname, '..');
const BUSYBOX = '/bin/busybox';
const run = promisify(execFile);

interface Options {
  sizes: number[];
  docker: number;
  restSeconds: number;
  calls: number;
  berth: string;
  profile: string | undefined;
  /** How long to wait for every node to be Healthy. */
  healthyTimeoutS: number;
}

const USAGE = `usage: npx tsx bench/scale.ts [options]
  --sizes N,N,...   process-runtime node counts measured, growing (default 1,10,100,200; "" for none)
  --docker N        Docker nodes measured (default 100; 0 skips)
  --rest S          seconds of CPU accounting at rest per size (default 25)
  --calls N         ListNodes calls timed per size (default 200)
  --berth PATH      the berth.js to run (default bin/berth.js of this checkout; build it first)
  --profile DIR     run Berth under node --cpu-prof, one profile per scenario in DIR
  --healthy-timeout S  longest wait for every node to be Healthy (default 600)`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    sizes: [1, 10, 100, 200],
    docker: 100,
    restSeconds: 25,
    calls: 200,
    berth: path.join(ROOT, 'bin', 'berth.js'),
    profile: undefined,
    healthyTimeoutS: 600,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    const int = (): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number`);
      return n;
    };
    if (flag === '--sizes') o.sizes = value().split(',').filter(Boolean).map(Number);
    else if (flag === '--docker') o.docker = int();
    else if (flag === '--rest') o.restSeconds = int();
    else if (flag === '--calls') o.calls = int();
    else if (flag === '--berth') o.berth = path.resolve(value());
    else if (flag === '--profile') o.profile = path.resolve(value());
    else if (flag === '--healthy-timeout') o.healthyTimeoutS = int();
    else if (flag === '--help' || flag === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  if (o.sizes.some((s, i) => !Number.isInteger(s) || s < 1 || (i > 0 && s <= o.sizes[i - 1]!)))
    throw new Error('--sizes must be growing whole numbers from 1');
  return o;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// --- Berth as a child process ---------------------------------------------------------

interface Serve {
  proc: ChildProcess;
  http: string;
  dataDir: string;
  clusterId: string;
  exited: Promise<number | null>;
}

async function startServe(o: Options, runtime: 'process' | 'docker', name: string): Promise<Serve> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-scale-'));
  const clusterId = `scale${randomBytes(4).toString('hex')}`;
  const nodeArgs = o.profile ? ['--cpu-prof', '--cpu-prof-dir', o.profile, '--cpu-prof-name', `berth-${name}.cpuprofile`] : [];
  if (o.profile) mkdirSync(o.profile, { recursive: true });
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      o.berth,
      'serve',
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir,
      '--runtime', runtime,
      '--cluster-id', clusterId,
      '--pull-images', 'false',
      // Loopback only: the bench measures the supervisor, not API keys.
      '--auth', 'none',
      // Creating hundreds of nodes at once is slow on a loaded host; only the rest that follows is measured.
      '--startup-timeout-ms', String(o.healthyTimeoutS * 1000),
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
    void exited.then((code) => reject(new Error(`berth serve exited with ${code}:\n${stderr}`)));
  });
  return { proc, http, dataDir, clusterId, exited };
}

async function stopServe(s: Serve): Promise<void> {
  s.proc.kill('SIGTERM');
  const code = await Promise.race([s.exited, sleep(30_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') s.proc.kill('SIGKILL');
}

// --- measuring ----------------------------------------------------------------------------

/** utime + stime of a process (all its threads), in clock ticks (USER_HZ, 100 per second). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function cpuAtRest(pid: number, seconds: number): Promise<number> {
  const before = cpuTicks(pid);
  const start = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const ticks = cpuTicks(pid) - before;
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return ticks / 100 / elapsed;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function listLatency(http: string, calls: number, expect: number): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    const body = await must('ListNodes', rest(http, 'GET', '/v1/nodes?folderId=default&pageSize=1000'));
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    if ((body.nodes ?? []).length !== expect) throw new Error(`ListNodes returned ${(body.nodes ?? []).length} nodes, not ${expect}`);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Waits until every node is Healthy; fails on a failed one. */
async function allHealthy(http: string, count: number, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = '';
  for (;;) {
    const body = await must('ListNodes', rest(http, 'GET', '/v1/nodes?folderId=default&pageSize=1000'));
    const nodes: any[] = body.nodes ?? [];
    const states = new Map<string, number>();
    for (const n of nodes) states.set(n.status?.state ?? '?', (states.get(n.status?.state ?? '?') ?? 0) + 1);
    const healthy = states.get('NODE_STATE_HEALTHY') ?? 0;
    if (nodes.length === count && healthy === count) return;
    const summary = [...states].map(([s, n]) => `${s.replace('NODE_STATE_', '').toLowerCase()} ${n}`).join(', ');
    if (summary !== last) log(`  ${summary}`);
    last = summary;
    const failed = nodes.find((n) => n.status?.state === 'NODE_STATE_UNHEALTHY' && /no instance became healthy|not available/.test(n.status?.reason ?? ''));
    if (failed) throw new Error(`node ${failed.name} failed: ${failed.status.reason}`);
    if (Date.now() > deadline) throw new Error(`not every node Healthy after ${timeoutS} s: ${summary}`);
    await sleep(1000);
  }
}

/** Creates nodes, at most `parallel` CreateNode calls in flight. */
async function createNodes(http: string, bodies: unknown[], parallel = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        await must('CreateNode', rest(http, 'POST', '/v1/nodes', body));
      }
    }),
  );
}

interface Row {
  scenario: string;
  nodes: number;
  cpu: number;
  p50: number;
  p99: number;
}

async function measure(o: Options, s: Serve, scenario: string, nodes: number): Promise<Row> {
  await allHealthy(s.http, nodes, o.healthyTimeoutS);
  await sleep(5000);
  log(`  ${nodes} nodes Healthy; CPU at rest over ${o.restSeconds} s`);
  const from = process.hrtime.bigint() / 1000n;
  const cpu = await cpuAtRest(s.proc.pid!, o.restSeconds);
  // The same monotonic clock as a V8 CPU profile's sample times: the window to read in the profile.
  if (o.profile) log(`  rest window of ${scenario} ${nodes}: ${from}-${process.hrtime.bigint() / 1000n} µs (monotonic)`);
  const { p50, p99 } = await listLatency(s.http, o.calls, nodes);
  const row = { scenario, nodes, cpu, p50, p99 };
  log(`  ${format(row)}`);
  return row;
}

// --- scenarios ------------------------------------------------------------------------------

async function processScenario(o: Options, rows: Row[]): Promise<void> {
  if (o.sizes.length === 0) return;
  log(`process runtime: ${o.sizes.join(', ')} checkpoint nodes`);
  const s = await startServe(o, 'process', 'process');
  try {
    const captured = await must(
      'CreateCheckpoint',
      rest(s.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'scale', cells: { cells: ['x = 1.0', 'y = x * 2'] }, servedCellIndex: 1 }),
    );
    const op = await must('wait', rest(s.http, 'POST', `/v1/operations/${captured.id}:wait`, { timeout: '120s' }));
    if (op.error) throw new Error(`capture failed: ${JSON.stringify(op.error)}`);
    const checkpointId: string = op.resourceId;
    let count = 0;
    for (const size of o.sizes) {
      const bodies = Array.from({ length: size - count }, (_, i) => ({
        folderId: 'default',
        name: `cp-${String(count + i).padStart(4, '0')}`,
        spec: {
          checkpoint: {
            checkpointId,
            inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_FLOAT' }],
            outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_FLOAT' }],
          },
          instanceRange: { min: 1, max: 1 },
        },
      }));
      log(`creating ${bodies.length} checkpoint nodes (${size} in all)`);
      await createNodes(s.http, bodies);
      count = size;
      rows.push(await measure(o, s, 'process, checkpoint nodes', size));
    }
  } finally {
    await deleteAll(s);
    await stopServe(s);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/** Installs Debian's busybox-static when /bin/busybox is missing. */
async function ensureBusybox(): Promise<void> {
  if (existsSync(BUSYBOX)) return;
  log('installing busybox-static with apt-get');
  await run('apt-get', ['install', '-y', '-q', 'busybox-static'], { timeout: 300_000 });
}

/** A `FROM scratch` image of busybox httpd serving /www (with /www/healthz), tagged by content hash. */
async function buildBusyboxImage(): Promise<string> {
  await ensureBusybox();
  const context = mkdtempSync(path.join(os.tmpdir(), 'berth-busybox-'));
  try {
    mkdirSync(path.join(context, 'www'));
    copyFileSync(BUSYBOX, path.join(context, 'busybox'));
    writeFileSync(path.join(context, 'www', 'healthz'), 'ok\n');
    const dockerfile = [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY www /www',
      'USER 65534:65534',
      'EXPOSE 8080',
      'ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]',
      '',
    ].join('\n');
    writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
    const hash = createHash('sha256').update(readFileSync(BUSYBOX)).update(dockerfile).digest('hex').slice(0, 12);
    const tag = `berth-bench-busybox:${hash}`;
    const present = await new Dockerode().getImage(tag).inspect().then(() => true, () => false);
    if (!present) {
      log(`building ${tag}`);
      await run('docker', ['build', '-q', '-t', tag, context], { timeout: 300_000 });
    }
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

async function dockerScenario(o: Options, rows: Row[]): Promise<void> {
  if (o.docker === 0) return;
  const image = await buildBusyboxImage();
  log(`docker runtime: ${o.docker} nodes of ${image}`);
  const s = await startServe(o, 'docker', 'docker');
  try {
    const bodies = Array.from({ length: o.docker }, (_, i) => ({
      folderId: 'default',
      name: `bb-${String(i).padStart(4, '0')}`,
      spec: {
        docker: { image, endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 }, healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz' } },
        instanceRange: { min: 1, max: 1 },
        configuration: { memoryBytes: String(32 * 1024 * 1024) },
      },
    }));
    await createNodes(s.http, bodies);
    rows.push(await measure(o, s, `docker, busybox httpd`, o.docker));
  } finally {
    await deleteAll(s);
    await stopServe(s);
    await removeByCluster(s.clusterId);
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/** Deletes every node and waits (bounded) for the deletes to finish. */
async function deleteAll(s: Serve): Promise<void> {
  const body = await rest(s.http, 'GET', '/v1/nodes?folderId=default&pageSize=1000').catch(() => undefined);
  const nodes: any[] = body?.body?.nodes ?? [];
  log(`deleting ${nodes.length} nodes`);
  await Promise.all(nodes.map((n) => rest(s.http, 'DELETE', `/v1/nodes/${n.id}`).catch(() => undefined)));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const left = await rest(s.http, 'GET', '/v1/nodes?folderId=default&pageSize=1000').catch(() => undefined);
    if ((left?.body?.nodes ?? []).length === 0) return;
    await sleep(1000);
  }
  log('  some nodes were still being deleted; their leftovers are removed by label');
}

async function removeByCluster(clusterId: string): Promise<void> {
  const docker = new Dockerode();
  const filters = { label: [`berth.run_id=${clusterId}`] };
  for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}

function format(r: Row): string {
  return `| ${r.scenario} | ${r.nodes} | ${(r.cpu * 100).toFixed(1)} % | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms |`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const rows: Row[] = [];
  const started = Date.now();
  try {
    await processScenario(o, rows);
    await dockerScenario(o, rows);
  } finally {
    const header = [
      `Berth: ${path.relative(process.cwd(), o.berth) || o.berth}; ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}; ` +
        `CPU at rest over ${o.restSeconds} s per row, ${o.calls} ListNodes calls (REST, every node in one page) per row; ${Math.round((Date.now() - started) / 1000)} s in all`,
      '',
      '| scenario | nodes | Berth CPU at rest (share of one core) | ListNodes p50 | ListNodes p99 |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(format),
    ];
    console.log(header.join('\n'));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
