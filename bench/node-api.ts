/**
 * The node-API benchmark: what the Berth proxy costs on the way to a Docker
 * node, against calling the instances directly and against nginx (Debian's
 * package) configured as a reverse proxy to the same two instances.
 *
 *   npx tsx bench/node-api.ts [--duration 10] [--connections 16]
 *   bench/node-api.sh        [same flags]      (installs wrk and nginx-light when missing)
 *
 * What it does, all on 127.0.0.1:
 * 1. builds the local test images (scripts/build-test-images.sh) and starts a
 *    real `berth serve --runtime docker` child process, pinned to one core
 *    (restarted with `--data-plane haproxy` on the same data, ports and
 *    instances for the `berth-haproxy-*` targets, and back for the others);
 * 2. creates a Docker node of the HTTP test image (2 instances, fixed) and an
 *    alias on it, and (for the gRPC rows) a node of the gRPC test image
 *    (2 instances), waits until they are healthy and reads the instances'
 *    loopback addresses;
 * 3. writes an nginx config whose upstreams are the same instances (HTTP/1.1
 *    to the HTTP node; h2c and `grpc_pass` to the gRPC node) and runs
 *    `/usr/sbin/nginx` (one worker) pinned to the same core as Berth;
 * 4. drives each target in turn with wrk (h2load for the gRPC rows), a second
 *    process pinned to the other core: direct to the instances, nginx, the
 *    node API with `x-node-id`, the node API with `x-node-alias` +
 *    `x-folder-id` (HTTP rows only), each with Berth's own node-API server
 *    (builtin) and with HAProxy in front of it (`--data-plane haproxy`,
 *    whose CPU is Berth's process tree: berth serve, the shell, HAProxy's
 *    master and worker); for a small GET /whoami, a 1 MiB and a
 *    16 MiB POST /echo, a unary gRPC Echo and a server-streaming gRPC Count
 *    of 10 messages; with one connection (the latency a single caller sees)
 *    and with --connections (throughput); each cell after a warm-up;
 * 5. prints the table, and for the HAProxy targets the share of calls that
 *    took HAProxy's own path (counted from Berth's access lines), and writes
 *    them, with the machine and the verdict against the targets, into
 *    docs/BENCHMARKS.md (between markers, so the rest of
 *    the file is kept);
 * 6. deletes the node, stops nginx and Berth, removes every container and
 *    network labelled with the run's cluster id and the temp directories.
 *
 * The instances and the Docker port proxies that front them are pinned to
 * the load generator's core, so that the proxy core runs only the proxy.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { buildTestImages } from '../test/images/test-images';
import { processTree } from '../test/helpers/processes';
import { must, rest, sleep } from './support/rest';
import { summarizeProfile } from './support/profile';

const ROOT = path.resolve(__dirname, '..');
const BERTH_BIN = path.join(ROOT, 'bin', 'berth.js');
const NGINX = '/usr/sbin/nginx';
const WRK = '/usr/bin/wrk';
/** The gRPC rows' load generator (Debian's nghttp2-client): wrk speaks HTTP/1.1 only. */
const H2LOAD = '/usr/bin/h2load';
const TASKSET = '/usr/bin/taskset';
/** The `berth-haproxy-*` targets' data plane (Debian's haproxy). */
const HAPROXY = '/usr/sbin/haproxy';
const DOCS = path.join(ROOT, 'docs', 'BENCHMARKS.md');
const BEGIN_MARK = '<!-- bench/node-api.ts: begin (generated; rerun the command to replace) -->';
const END_MARK = '<!-- bench/node-api.ts: end -->';
const MIB = 1024 * 1024;
const FOLDER = 'default';
const ALIAS = 'bench';

const run = promisify(execFile);

// --- options ---------------------------------------------------------------------

const TARGET_KEYS = ['direct', 'nginx', 'berth-node', 'berth-alias', 'berth-haproxy-node', 'berth-haproxy-alias'] as const;
type TargetKey = (typeof TARGET_KEYS)[number];
/** Berth's targets, each with the data plane it runs with. */
const BERTH_TARGETS: { key: TargetKey; plane: DataPlane }[] = [
  { key: 'berth-node', plane: 'builtin' },
  { key: 'berth-alias', plane: 'builtin' },
  { key: 'berth-haproxy-node', plane: 'haproxy' },
  { key: 'berth-haproxy-alias', plane: 'haproxy' },
];
/** What relays Berth's node-API calls (`berth serve --data-plane`). */
type DataPlane = 'builtin' | 'haproxy';
const PAYLOAD_KEYS = ['small', '1mib', '16mib', 'grpc-unary', 'grpc-stream'] as const;
type PayloadKey = (typeof PAYLOAD_KEYS)[number];

interface Options {
  /** Seconds measured per cell. */
  duration: number;
  /** Seconds of load before each measured cell, not counted. */
  warmup: number;
  /** Connections of the throughput cells (the latency cells use one). */
  connections: number;
  /** The core Berth and nginx run on, one at a time. */
  proxyCpu: number;
  /** The core wrk, the instances and their port proxies run on. */
  loadCpu: number;
  /** Where the results go; undefined with --no-docs. */
  docs: string | undefined;
  /** Rounds over every cell, interleaved; each cell reports its least disturbed round (highest req/s). */
  rounds: number;
  /** Before a cell, wait (up to this many seconds) for both cores to be nearly idle. */
  quietWait: number;
  /** Write a CPU profile of Berth here and print its hottest functions (measures Berth only, writes no docs). */
  profile: string | undefined;
  /** nginx buffers whole bodies instead of streaming them. */
  nginxBuffering: boolean;
  /** Run Berth with --trace-gc and log its collections per cell. */
  traceGc: boolean;
  /** Extra options of Berth's node process (`--berth-node-option`, repeatable). */
  berthNodeOptions: string[];
  /** Share of one core both proxies are held to in the capacity cells (0: no such cells). */
  cpuBudget: number;
  /** The targets measured, in this order. */
  targets: TargetKey[];
  /** The payloads measured. */
  payloads: PayloadKey[];
}

const USAGE = `usage: npx tsx bench/node-api.ts [options]
  --duration S      seconds measured per cell (default 10)
  --warmup S        seconds of unmeasured load before each cell (default 2)
  --connections N   connections of the throughput cells (default 16)
  --proxy-cpu N     core of Berth and of nginx (default 1)
  --load-cpu N      core of wrk and of the instances (default 0)
  --rounds N        interleaved rounds; each cell keeps its least disturbed round (default 1)
  --quiet-wait S    before each cell wait up to S seconds for idle cores (default 300)
  --docs FILE       write the results there (default docs/BENCHMARKS.md)
  --no-docs         print only
  --profile DIR     run Berth under --cpu-prof, measure only Berth, print where its CPU goes
  --cpu-budget F    capacity cells: both proxies held to this share of their core
                    (a CPU cgroup quota), so that each is its own bottleneck (default 0.2; 0: none)
  --targets LIST    measure only these, in this order (default direct,nginx,berth-node,berth-alias,
                    berth-haproxy-node,berth-haproxy-alias; the last two only when /usr/sbin/haproxy
                    exists): berth-haproxy-* run Berth with --data-plane haproxy, restarted on the same
                    data, ports and instances
  --payloads LIST   measure only these (default small,1mib,16mib,grpc-unary,grpc-stream;
                    the gRPC rows need /usr/bin/h2load, Debian's nghttp2-client)
  --trace-gc        run Berth with --trace-gc and log its garbage collections per cell
  --berth-node-option OPT
                    start Berth's node with OPT as well (repeatable), e.g. --max-semi-space-size=64
  --nginx-buffering nginx buffers bodies in memory (default: it streams them, as Berth does)
`;

function parseOptions(argv: string[]): Options {
  const targets = TARGET_KEYS.filter((k) => existsSync(HAPROXY) || !k.startsWith('berth-haproxy'));
  const o: Options = { duration: 10, warmup: 2, connections: 16, proxyCpu: 1, loadCpu: 0, docs: DOCS, rounds: 1, quietWait: 300, profile: undefined, nginxBuffering: false, cpuBudget: 0.2, targets, payloads: [...PAYLOAD_KEYS], traceGc: false, berthNodeOptions: [] };
  const number = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < min) throw new Error(`${name} needs a number of at least ${min}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--duration':
        o.duration = number(arg, argv[++i], 1);
        break;
      case '--warmup':
        o.warmup = number(arg, argv[++i], 0);
        break;
      case '--connections':
        o.connections = Math.round(number(arg, argv[++i], 2));
        break;
      case '--proxy-cpu':
        o.proxyCpu = Math.round(number(arg, argv[++i], 0));
        break;
      case '--load-cpu':
        o.loadCpu = Math.round(number(arg, argv[++i], 0));
        break;
      case '--docs': {
        const file = argv[++i];
        if (file === undefined) throw new Error(`--docs needs a file\n${USAGE}`);
        o.docs = path.resolve(file);
        break;
      }
      case '--no-docs':
        o.docs = undefined;
        break;
      case '--targets': {
        const list = (argv[++i] ?? '').split(',').filter(Boolean);
        const unknown = list.filter((t) => !(TARGET_KEYS as readonly string[]).includes(t));
        if (list.length === 0 || unknown.length > 0) throw new Error(`--targets takes a list of ${TARGET_KEYS.join(', ')}\n${USAGE}`);
        o.targets = list as TargetKey[];
        break;
      }
      case '--payloads': {
        const list = (argv[++i] ?? '').split(',').filter(Boolean);
        if (list.length === 0 || list.some((p) => !(PAYLOAD_KEYS as readonly string[]).includes(p))) throw new Error(`--payloads takes a list of ${PAYLOAD_KEYS.join(', ')}\n${USAGE}`);
        o.payloads = list as PayloadKey[];
        break;
      }
      case '--cpu-budget':
        o.cpuBudget = number(arg, argv[++i], 0);
        if (o.cpuBudget >= 1) throw new Error('--cpu-budget is a share of one core, below 1');
        break;
      case '--berth-node-option': {
        const flag = argv[++i];
        if (flag === undefined || !flag.startsWith('--')) throw new Error(`--berth-node-option takes a node option such as --max-semi-space-size=64\n${USAGE}`);
        o.berthNodeOptions.push(flag);
        break;
      }
      case '--trace-gc':
        o.traceGc = true;
        break;
      case '--nginx-buffering':
        o.nginxBuffering = true;
        break;
      case '--rounds':
        o.rounds = Math.round(number(arg, argv[++i], 1));
        break;
      case '--quiet-wait':
        o.quietWait = number(arg, argv[++i], 0);
        break;
      case '--profile': {
        const dir = argv[++i];
        if (dir === undefined) throw new Error(`--profile needs a directory\n${USAGE}`);
        o.profile = path.resolve(dir);
        o.docs = undefined;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  const cpus = os.cpus().length;
  if (o.proxyCpu >= cpus || o.loadCpu >= cpus) throw new Error(`this machine has cores 0..${cpus - 1}`);
  if (o.proxyCpu === o.loadCpu) throw new Error('--proxy-cpu and --load-cpu must differ');
  if (o.targets.some((k) => k.startsWith('berth-haproxy')) && !existsSync(HAPROXY)) throw new Error(`the berth-haproxy-* targets need ${HAPROXY} (apt-get install haproxy)`);
  return o;
}

// --- small helpers ---------------------------------------------------------------

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** What a command prints (stdout, then stderr), even when it exits non-zero as `wrk -v` does. */
async function output(file: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 60_000 });
    return `${stdout}${stderr}`.trim();
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    const printed = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    return printed !== '' ? printed : `unknown (${e.message.split('\n')[0]})`;
  }
}

function pin(cpu: number, pid: number): Promise<unknown> {
  return run(TASKSET, ['-a', '-p', '-c', String(cpu), String(pid)]);
}

// --- CPU accounting from /proc -----------------------------------------------------

/** Clock ticks per second of /proc's counters (USER_HZ, 100 on Linux). */
let clockTicks = 100;

interface CpuTicks {
  user: number;
  system: number;
}

/** utime and stime of a process (all its threads), in ticks; zeros once it is gone. */
function processTicks(pid: number): CpuTicks {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]), system: Number(fields[12]) };
  } catch {
    return { user: 0, system: 0 };
  }
}

function ticksOf(pids: number[]): CpuTicks {
  return pids.map(processTicks).reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }), { user: 0, system: 0 });
}

/** Busy and total ticks per core. */
function coreTicks(): { busy: number; total: number }[] {
  const cores: { busy: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    cores[Number(m[1])] = { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
  }
  return cores;
}

/** Direct children of a process (nginx's worker), from each process's parent pid. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** A process's name and the cores its threads may run on (`Cpus_allowed_list` of each thread, distinct). */
function describe(pid: number): { name: string; cpus: string } | undefined {
  try {
    const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const cpus = new Set<string>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      cpus.add(/^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? '?');
    }
    return { name, cpus: [...cpus].join('+') };
  } catch {
    return undefined;
  }
}

/** Pids of the docker-proxy processes that publish these host ports. */
function dockerProxyPids(ports: number[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args[0]?.endsWith('docker-proxy')) continue;
    const i = args.indexOf('-host-port');
    if (i >= 0 && ports.includes(Number(args[i + 1]))) pids.push(Number(entry));
  }
  return pids;
}

/** Core busy shares over `ms` milliseconds. */
async function busyOver(ms: number): Promise<number[]> {
  const before = coreTicks();
  await sleep(ms);
  return coreTicks().map((after, i) => {
    const b = before[i]!;
    return (after.busy - b.busy) / Math.max(1, after.total - b.total);
  });
}

/** Busiest of the two cores at rest that counts as quiet. */
const QUIET = 0.15;

/**
 * Waits until neither core is busy with something else (other jobs on the
 * machine skew every number), up to `o.quietWait` seconds; resolves the
 * background busy share of the busier core when the cell starts.
 */
async function waitQuiet(o: Options): Promise<number> {
  const deadline = Date.now() + o.quietWait * 1000;
  let said = false;
  for (;;) {
    const busy = await busyOver(1000);
    const worst = Math.max(busy[o.proxyCpu] ?? 0, busy[o.loadCpu] ?? 0);
    if (worst <= QUIET) return worst;
    if (Date.now() >= deadline) {
      log(`  cores still busy (${Math.round(worst * 100)}%) after ${o.quietWait} s: measuring anyway`);
      return worst;
    }
    if (!said) log(`  waiting for quiet cores (busy ${busy.map((b) => `${Math.round(b * 100)}%`).join(', ')} with the benchmark at rest)`);
    said = true;
  }
}

// --- an equal CPU budget ---------------------------------------------------------------

/**
 * A CPU cgroup the proxies are moved into, whose quota is set only while a
 * capacity cell runs: then Berth and nginx each get the same slice of their
 * core and each is the bottleneck of its own run, whatever the load side can
 * do. cgroup v1 (`cpu` controller) or v2 (`cpu.max`).
 */
class CpuBudget {
  private static readonly PERIOD_US = 10_000;
  private readonly pids = new Set<number>();

  private constructor(
    private readonly dir: string,
    private readonly root: string,
    private readonly v2: boolean,
  ) {}

  static create(name: string): CpuBudget | undefined {
    const v1Root = '/sys/fs/cgroup/cpu';
    const v2Root = '/sys/fs/cgroup';
    try {
      if (existsSync(path.join(v1Root, 'cpu.cfs_quota_us'))) {
        const dir = path.join(v1Root, name);
        mkdirSync(dir);
        writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(CpuBudget.PERIOD_US));
        return new CpuBudget(dir, v1Root, false);
      }
      if (readFileSync(path.join(v2Root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) {
        try {
          writeFileSync(path.join(v2Root, 'cgroup.subtree_control'), '+cpu');
        } catch {
          // already enabled, or the check below fails
        }
        const dir = path.join(v2Root, name);
        mkdirSync(dir);
        if (!existsSync(path.join(dir, 'cpu.max'))) throw new Error('no cpu.max');
        return new CpuBudget(dir, v2Root, true);
      }
    } catch (err) {
      log(`no CPU cgroup to hold the proxies to a budget (${(err as Error).message}): capacity cells skipped`);
    }
    return undefined;
  }

  add(pid: number): void {
    writeFileSync(path.join(this.dir, 'cgroup.procs'), String(pid));
    this.pids.add(pid);
  }

  /** Holds the group to `share` of one core, or lifts the limit. */
  limit(share: number | undefined): void {
    const quota = share === undefined ? undefined : Math.max(1000, Math.round(share * CpuBudget.PERIOD_US));
    if (this.v2) writeFileSync(path.join(this.dir, 'cpu.max'), `${quota ?? 'max'} ${CpuBudget.PERIOD_US}`);
    else writeFileSync(path.join(this.dir, 'cpu.cfs_quota_us'), String(quota ?? -1));
  }

  /** Moves whoever is left back to the root group and removes the group. */
  remove(): void {
    for (const pid of this.pids) {
      try {
        writeFileSync(path.join(this.root, 'cgroup.procs'), String(pid));
      } catch {
        // exited
      }
    }
    try {
      rmdirSync(this.dir);
    } catch {
      // still busy: the kernel keeps it until its last task exits
    }
  }
}

// --- the processes under test ------------------------------------------------------

/** Berth's garbage collections so far, from `--trace-gc` (zeros without it). */
interface GcTotals {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
  /** Mark-compacts started because of external (Buffer) memory. */
  external: number;
  /** The last mark-compact line, for its heap sizes and reason. */
  lastMarkCompact: string;
}

/** Node-API access lines Berth wrote: calls relayed by HAProxy's own path, and calls Berth's server answered. */
interface AccessCounts {
  haproxy: number;
  berth: number;
}

interface BerthProcess {
  proc: ChildProcess;
  plane: DataPlane;
  http: string;
  nodeApiPort: number;
  exited: Promise<number | null>;
  logTail: string[];
  gc: GcTotals;
  access: AccessCounts;
}

/** The ports Berth listens on, the same across restarts (so targets and nginx's neighbours never move). */
interface BerthPorts {
  http: number;
  nodeApi: number;
}

const GC_LINE = /ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Compact|Minor Mark-Sweep)\b.*?MB, ([\d.]+) \/ ([\d.]+) ms/;

function countGc(gc: GcTotals, line: string): void {
  const m = GC_LINE.exec(line);
  if (!m) return;
  const pause = Number(m[2]);
  if (m[1]!.startsWith('Minor') || m[1] === 'Scavenge') {
    gc.scavenges++;
    gc.scavengeMs += pause;
  } else {
    gc.markCompacts++;
    gc.markCompactMs += pause;
    if (line.includes('external memory')) gc.external++;
    gc.lastMarkCompact = line.replace(/^\[[^\]]*\]\s*/, '');
  }
}

async function startBerth(clusterId: string, dataDir: string, ports: BerthPorts, plane: DataPlane, cpu: number, o: Options): Promise<BerthProcess> {
  const nodeFlags = [
    ...(o.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.profile]),
    ...(o.traceGc ? ['--trace-gc'] : []),
    ...o.berthNodeOptions,
  ];
  const gc: GcTotals = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0, external: 0, lastMarkCompact: '' };
  const args = [
    '-c', String(cpu), process.execPath, ...nodeFlags, BERTH_BIN, 'serve',
    '--runtime', 'docker', '--pull-images', 'false', '--cluster-id', clusterId, '--data-dir', dataDir,
    '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', String(ports.http), '--node-api-port', String(ports.nodeApi),
    '--auth', 'none', '--data-plane', plane, ...(plane === 'haproxy' ? ['--haproxy', HAPROXY] : []),
  ];
  // taskset execs node: the child's pid is Berth's, every thread on `cpu`.
  const proc = spawn(TASKSET, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BERTH_LOG_LEVEL: 'info' } });
  const logTail: string[] = [];
  const keep = (line: string): void => {
    logTail.push(line);
    if (logTail.length > 200) logTail.shift();
  };
  readline.createInterface({ input: proc.stderr! }).on('line', keep);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const access: AccessCounts = { haproxy: 0, berth: 0 };
  let serving = false;
  const listening = await new Promise<{ httpPort: number; nodeApiPort: number; dataPlane: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth serve did not start within 60 s:\n${logTail.join('\n')}`)), 60_000);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (line.startsWith('[')) {
        countGc(gc, line);
        return;
      }
      // Access lines are counted, not kept (nor parsed: one per call).
      if (line.includes('"component":"access"')) {
        // HAProxy's lines of connections that carried no whole request (no node) are no calls.
        if (line.includes('"dataPlane":"haproxy"')) access.haproxy += line.includes('"nodeId":"-"') ? 0 : 1;
        else if (line.includes('"listener":"node-api"')) access.berth++;
        return;
      }
      keep(line);
      if (serving) return;
      let entry: any;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'berth is serving') {
        serving = true;
        clearTimeout(timer);
        resolve({ httpPort: entry.httpPort, nodeApiPort: entry.nodeApiPort, dataPlane: entry.dataPlane });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`berth serve exited with ${code} before serving:\n${logTail.join('\n')}`));
    });
  });
  if (listening.dataPlane !== plane) throw new Error(`berth serve --data-plane ${plane} serves with ${listening.dataPlane}`);
  return { proc, plane, exited, logTail, gc, access, http: `http://127.0.0.1:${listening.httpPort}`, nodeApiPort: listening.nodeApiPort };
}

/**
 * The one `berth serve` of the run, with the data plane the next target
 * needs: restarted on the same data directory, cluster id and ports when
 * that changes (it adopts the running instances), never two at once.
 */
class BerthHost {
  current: BerthProcess | undefined;
  /** The capacity cells' CPU group, which each new Berth tree joins. */
  budget: CpuBudget | undefined;

  constructor(
    private readonly launch: (plane: DataPlane) => Promise<BerthProcess>,
    private readonly cpu: number,
  ) {}

  /** Berth's processes now: berth serve and every descendant (with HAProxy: the shell, HAProxy's master and workers). */
  pids(): number[] {
    const pid = this.current?.proc.pid;
    return pid === undefined || this.current!.proc.exitCode !== null ? [] : processTree(pid);
  }

  /** Berth serving with `plane`, started (and `ready` awaited: its routes serve) if it is not the one running. */
  async use(plane: DataPlane, ready: () => Promise<void>): Promise<BerthProcess> {
    const running = this.current;
    if (running !== undefined && running.plane === plane && running.proc.exitCode === null) return running;
    if (running !== undefined) {
      log(`restarting berth serve with --data-plane ${plane}`);
      await this.stop();
    }
    this.current = await this.launch(plane);
    await ready();
    await this.checkTree();
    return this.current;
  }

  /**
   * Every process of Berth's tree must be on Berth's core (children inherit
   * taskset's affinity; pinned here if one did not) and in the CPU group.
   */
  private async checkTree(): Promise<void> {
    const pids = this.pids();
    const seen = pids.map((pid) => ({ pid, ...describe(pid) }));
    log(`Berth's processes (CPU counted for all): ${seen.map((p) => `${p.name} ${p.pid} on core ${p.cpus}`).join(', ')}`);
    const astray = seen.filter((p) => p.cpus !== undefined && p.cpus !== String(this.cpu));
    for (const p of astray) await pin(this.cpu, p.pid);
    if (astray.length > 0) log(`  pinned ${astray.map((p) => `${p.name} ${p.pid}`).join(', ')} to core ${this.cpu}`);
    if (this.budget !== undefined) for (const pid of pids) this.budget.add(pid);
  }

  /** Stops berth serve (SIGTERM) and checks that its whole tree went with it. */
  async stop(): Promise<void> {
    const b = this.current;
    if (b === undefined) return;
    const tree = this.pids();
    await stopProcess(b.proc, b.exited, 'SIGTERM', 15_000);
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5000;
    while (tree.some(alive) && Date.now() < deadline) await sleep(100);
    const left = tree.filter(alive);
    if (left.length > 0) {
      log(`  still running 5 s after berth serve stopped: ${left.map((pid) => `${describe(pid)?.name ?? '?'} ${pid}`).join(', ')}; killed`);
      for (const pid of left) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    this.current = undefined;
  }
}

function nginxConfig(dir: string, port: number, upstreams: string[], buffering: boolean, grpc: { port: number; upstreams: string[] } | undefined): string {
  const p = (name: string): string => path.join(dir, name);
  return `# Written by bench/node-api.ts: nginx as a reverse proxy to the node's instances.
worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path ${p('client_body')};
    proxy_temp_path ${p('proxy')};
    fastcgi_temp_path ${p('fastcgi')};
    uwsgi_temp_path ${p('uwsgi')};
    scgi_temp_path ${p('scgi')};
    upstream instances {
${upstreams.map((u) => `        server ${u};`).join('\n')}
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${port};
        client_max_body_size 20m;
${
  buffering
    ? `        # Whole bodies buffered in memory (up to 1 MiB each way), no temp files.
        client_body_buffer_size 1m;
        proxy_buffer_size 64k;
        proxy_buffers 16 64k;
        proxy_busy_buffers_size 128k;
        proxy_max_temp_file_size 0;`
    : `        # Streamed in both directions, as the node API relays bodies, 64 KiB at a time
        # (what a Node socket reads at once); no temp files.
        proxy_request_buffering off;
        proxy_buffering off;
        client_body_buffer_size 64k;
        proxy_buffer_size 64k;
        proxy_buffers 4 64k;
        proxy_busy_buffers_size 128k;`
}
        location / {
            proxy_pass http://instances;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
${
  grpc === undefined
    ? ''
    : `    # The gRPC rows: h2c from the caller, h2c to the gRPC node's instances.
    upstream grpc_instances {
${grpc.upstreams.map((u) => `        server ${u};`).join('\n')}
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${grpc.port} http2;
        location / {
            grpc_pass grpc://grpc_instances;
        }
    }
`
}}
`;
}

interface NginxProcess {
  proc: ChildProcess;
  exited: Promise<number | null>;
  stderr: string[];
}

async function startNginx(dir: string, conf: string, port: number, cpu: number): Promise<NginxProcess> {
  const proc = spawn(TASKSET, ['-c', String(cpu), NGINX, '-e', path.join(dir, 'error.log'), '-p', dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      let errors = '';
      try {
        errors = readFileSync(path.join(dir, 'error.log'), 'utf8');
      } catch {
        // no log yet
      }
      throw new Error(`nginx did not start: ${stderr.join('\n')}\n${errors}`);
    }
    await sleep(100);
  }
  return { proc, exited, stderr };
}

async function stopProcess(proc: ChildProcess | undefined, exited: Promise<unknown> | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(signal);
  const done = await Promise.race([exited?.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    proc.kill('SIGKILL');
    await exited;
  }
}

// --- targets, payloads, cells ----------------------------------------------------------

interface Target {
  key: TargetKey;
  label: string;
  /** wrk's URL port; `direct` spreads wrk's threads over `ports`. */
  ports: number[];
  headers: Record<string, string>;
  /** Where the gRPC rows go (h2load takes one address: `direct` calls the first instance); none: no gRPC rows. */
  grpcPort: number | undefined;
  grpcHeaders: Record<string, string>;
  /** Pids whose CPU time is the proxy's (none for direct). */
  pids(): number[];
  /** Berth's targets: the data plane Berth must run with (it is restarted when it changes). */
  plane?: DataPlane;
  /** Berth's node-API access lines so far (the HAProxy targets: which calls took HAProxy's own path). */
  access?(): AccessCounts;
}

interface Payload {
  key: PayloadKey;
  label: string;
  method: 'GET' | 'POST';
  path: string;
  /** HTTP rows: the request body's size (the echo sends as much back). */
  bodyBytes: number;
  /** gRPC rows (h2c, h2load): the request message, framed. */
  grpcMessage?: Buffer;
  /** The issue's target: at least this share of nginx's requests per second at equal CPU. */
  ratioTarget: number;
}

/** One gRPC length-prefixed message (uncompressed). */
function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

const PAYLOADS: Payload[] = [
  { key: 'small', label: 'GET /whoami (small)', method: 'GET', path: '/whoami', bodyBytes: 0, ratioTarget: 0.5 },
  { key: '1mib', label: 'POST /echo 1 MiB', method: 'POST', path: '/echo', bodyBytes: MIB, ratioTarget: 0.7 },
  { key: '16mib', label: 'POST /echo 16 MiB', method: 'POST', path: '/echo', bodyBytes: 16 * MIB, ratioTarget: 0.7 },
  // berth.test.Echo/Echo {message: "hello"}: one message each way, trailers.
  {
    key: 'grpc-unary',
    label: 'gRPC unary Echo',
    method: 'POST',
    path: '/berth.test.Echo/Echo',
    bodyBytes: 0,
    grpcMessage: grpcFrame(Buffer.from([0x0a, 0x05, ...Buffer.from('hello')])),
    ratioTarget: 0.5,
  },
  // berth.test.Echo/Count {n: 10, interval_ms: 0}: ten messages back on one stream, then trailers.
  {
    key: 'grpc-stream',
    label: 'gRPC server stream Count, 10 messages',
    method: 'POST',
    path: '/berth.test.Echo/Count',
    bodyBytes: 0,
    grpcMessage: grpcFrame(Buffer.from([0x08, 0x0a])),
    ratioTarget: 0.5,
  },
];

interface WrkSummary {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

interface Cell {
  target: Target;
  payload: Payload;
  connections: number;
  wrk: WrkSummary;
  rps: number;
  /** Share of one core used by the proxy's processes during the cell (0..1 per core). */
  proxyCpu: number | undefined;
  /** Proxy CPU time per request, in µs. */
  proxyCpuPerRequestUs: number | undefined;
  /** Share of that CPU time spent in user space (the rest is the kernel's, on the proxy's behalf). */
  proxyUserShare: number | undefined;
  /** Busy share of each core during the cell. */
  coreBusy: number[];
  /** Busy share of the busier core just before the cell, with the benchmark at rest. */
  background: number;
  /** The share of one core the proxy was held to, in a capacity cell. */
  budget: number | undefined;
  /** The HAProxy targets: CPU µs per request by process name (berth serve's `node`, `sh`, `haproxy`). */
  cpuByProcess: { name: string; processes: number; usPerRequest: number }[] | undefined;
  /** Berth's targets: its node-API access lines over the cell, warm-up included, and the calls the load generator completed then. */
  access: (AccessCounts & { requests: number }) | undefined;
}

function luaString(s: string): string {
  return JSON.stringify(s);
}

/** The wrk script of one target and payload: request, per-thread address, a JSON summary. */
function wrkScript(target: Target, payload: Payload): string {
  const headers = Object.entries(target.headers)
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join('\n');
  const body =
    payload.bodyBytes > 0
      ? `wrk.body = string.rep("b", ${payload.bodyBytes})\nwrk.headers["Content-Type"] = "application/octet-stream"`
      : '';
  return `-- Written by bench/node-api.ts.
wrk.method = ${luaString(payload.method)}
wrk.path = ${luaString(payload.path)}
${headers}
${body}

local ports = { ${target.ports.join(', ')} }
local n = 0
function setup(thread)
  n = n + 1
  thread.addr = wrk.lookup("127.0.0.1", tostring(ports[((n - 1) % #ports) + 1]))[1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH-SUMMARY {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
`;
}

let activeWrk: ChildProcess | undefined;

async function wrk(script: string, target: Target, connections: number, seconds: number, cpu: number): Promise<WrkSummary> {
  const threads = Math.min(2, connections);
  const url = `http://127.0.0.1:${target.ports[0]}/`;
  const args = ['-c', String(cpu), WRK, '-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '10s', '--latency', '-s', script, url];
  const proc = spawn(TASKSET, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  activeWrk = proc;
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  activeWrk = undefined;
  const line = out.split('\n').find((l) => l.startsWith('BENCH-SUMMARY '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}):\n${out}\n${err}`);
  return JSON.parse(line.slice('BENCH-SUMMARY '.length)) as WrkSummary;
}

/**
 * One gRPC cell with h2load: `connections` connections, one stream at a time on
 * each (closed loop, as wrk), the framed request message as the body. h2load
 * counts an HTTP 200 as a success and does not read `grpc-status`; each
 * target's answers are checked once with a real gRPC client first
 * (`checkTarget`). h2load reports no percentiles: p50 is its mean, p99 its max.
 */
async function h2load(target: Target, payload: Payload, connections: number, seconds: number, cpu: number, bodyFile: string): Promise<WrkSummary> {
  const headers = { 'content-type': 'application/grpc', te: 'trailers', ...target.grpcHeaders };
  const args = [
    '-c', String(cpu), H2LOAD, '-t', '1', '-c', String(connections), '-m', '1', '-D', String(seconds),
    '-d', bodyFile, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    `http://127.0.0.1:${target.grpcPort}${payload.path}`,
  ];
  const proc = spawn(TASKSET, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  activeWrk = proc;
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  activeWrk = undefined;
  const finished = /finished in ([\d.]+)(ms|s),/.exec(out);
  const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const timing = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const traffic = /traffic: [\d.]+\w* \((\d+)\) total/.exec(out);
  if (code !== 0 || finished === null || counts === null || timing === null) throw new Error(`h2load failed (exit ${code}):\n${out}`);
  const us = (value: string, unit: string): number => Number(value) * (unit === 's' ? 1e6 : unit === 'ms' ? 1e3 : 1);
  const done = Number(counts[2]);
  const succeeded = Number(counts[3]);
  const mean = us(timing[5]!, timing[6]!);
  return {
    requests: succeeded,
    durationUs: us(finished[1]!, finished[2]!),
    bytes: Number(traffic?.[1] ?? 0),
    errors: { connect: 0, read: Number(counts[5]), write: 0, status: done - succeeded, timeout: Number(counts[6]) },
    p50: mean,
    p90: mean,
    p99: us(timing[3]!, timing[4]!),
    max: us(timing[3]!, timing[4]!),
    mean,
  };
}

async function measure(
  dir: string,
  target: Target,
  payload: Payload,
  connections: number,
  o: Options,
  budget: { group: CpuBudget; share: number } | undefined,
): Promise<Cell> {
  const script = path.join(dir, `${target.key}-${payload.key}.${payload.grpcMessage === undefined ? 'lua' : 'bin'}`);
  if (!existsSync(script)) writeFileSync(script, payload.grpcMessage ?? wrkScript(target, payload));
  const load = (seconds: number): Promise<WrkSummary> =>
    payload.grpcMessage === undefined ? wrk(script, target, connections, seconds, o.loadCpu) : h2load(target, payload, connections, seconds, o.loadCpu, script);
  const background = await waitQuiet(o);
  budget?.group.limit(budget.share);
  let summary: WrkSummary;
  let cpuBefore: CpuTicks;
  let cpuAfter: CpuTicks;
  let coresBefore: { busy: number; total: number }[];
  let coresAfter: { busy: number; total: number }[];
  const pids = target.pids();
  const accessBefore = target.access === undefined ? undefined : { ...target.access() };
  let warmed = 0;
  let perPidBefore: CpuTicks[] = [];
  let perPidAfter: CpuTicks[] = [];
  try {
    if (o.warmup > 0) warmed = (await load(o.warmup)).requests;
    perPidBefore = pids.map(processTicks);
    cpuBefore = ticksOf(pids);
    coresBefore = coreTicks();
    summary = await load(o.duration);
    cpuAfter = ticksOf(pids);
    perPidAfter = pids.map(processTicks);
    coresAfter = coreTicks();
  } finally {
    budget?.group.limit(undefined);
  }
  const seconds = summary.durationUs / 1e6;
  const rps = summary.requests / seconds;
  const userSeconds = (cpuAfter.user - cpuBefore.user) / clockTicks;
  const proxyCpuSeconds = userSeconds + (cpuAfter.system - cpuBefore.system) / clockTicks;
  const coreBusy = coresAfter.map((after, i) => {
    const before = coresBefore[i]!;
    return (after.busy - before.busy) / Math.max(1, after.total - before.total);
  });
  let cpuByProcess: Cell['cpuByProcess'];
  if (target.plane === 'haproxy' && summary.requests > 0) {
    const byName = new Map<string, { processes: number; ticks: number }>();
    pids.forEach((pid, i) => {
      const name = describe(pid)?.name ?? 'gone';
      const ticks = perPidAfter[i]!.user + perPidAfter[i]!.system - perPidBefore[i]!.user - perPidBefore[i]!.system;
      const known = byName.get(name) ?? { processes: 0, ticks: 0 };
      byName.set(name, { processes: known.processes + 1, ticks: known.ticks + ticks });
    });
    cpuByProcess = [...byName].map(([name, v]) => ({ name, processes: v.processes, usPerRequest: (v.ticks / clockTicks / summary.requests) * 1e6 }));
  }
  let access: Cell['access'];
  if (target.access !== undefined && accessBefore !== undefined) {
    // The access lines trail the calls a little (HAProxy's log, then Berth's): wait until they stop coming.
    const total = (): number => target.access!().haproxy + target.access!().berth;
    for (let last = -1, waited = 0; total() !== last && waited < 5000; waited += 200) {
      last = total();
      await sleep(200);
    }
    const after = target.access();
    access = { haproxy: after.haproxy - accessBefore.haproxy, berth: after.berth - accessBefore.berth, requests: warmed + summary.requests };
  }
  const errors = summary.errors;
  const failed = errors.connect + errors.read + errors.write + errors.status + errors.timeout;
  if (failed > 0) log(`  ${target.label} ${payload.label} c=${connections}: ${failed} failed requests ${JSON.stringify(errors)}`);
  return {
    target,
    payload,
    connections,
    wrk: summary,
    rps,
    proxyCpu: pids.length > 0 ? proxyCpuSeconds / seconds : undefined,
    proxyCpuPerRequestUs: pids.length > 0 && summary.requests > 0 ? (proxyCpuSeconds * 1e6) / summary.requests : undefined,
    proxyUserShare: pids.length > 0 && proxyCpuSeconds > 0 ? userSeconds / proxyCpuSeconds : undefined,
    coreBusy,
    background,
    budget: budget?.share,
    cpuByProcess,
    access,
  };
}

const ECHO_PROTO = path.join(ROOT, 'test', 'images', 'grpc-server', 'echo.proto');

/** The gRPC rows' two calls, through `target`, with a real gRPC client: h2load itself does not read `grpc-status`. */
async function checkGrpcTarget(target: Target): Promise<void> {
  if (target.grpcPort === undefined) return;
  const definition = loadSync(ECHO_PROTO, { keepCase: true });
  const Echo = grpc.makeClientConstructor(definition['berth.test.Echo'] as grpc.ServiceDefinition, 'Echo');
  const client = new Echo(`127.0.0.1:${target.grpcPort}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(target.grpcHeaders)) metadata.set(k, v);
  try {
    const reply = await new Promise<{ message: string }>((resolve, reject) =>
      (client as any).Echo({ message: 'hello' }, metadata, (err: Error | null, r: { message: string }) => (err ? reject(err) : resolve(r))),
    );
    if (reply.message !== 'hello') throw new Error(`${target.label}: gRPC Echo answered ${JSON.stringify(reply)}`);
    const replies = await new Promise<number>((resolve, reject) => {
      let n = 0;
      const call = (client as any).Count({ n: 10, interval_ms: 0 }, metadata);
      call.on('data', () => n++);
      call.on('error', reject);
      call.on('end', () => resolve(n));
    });
    if (replies !== 10) throw new Error(`${target.label}: gRPC Count streamed ${replies} messages instead of 10`);
  } finally {
    client.close();
  }
}

/** One request through each target, checked, before anything is measured. */
async function checkTarget(target: Target, grpcRows: boolean): Promise<void> {
  if (grpcRows) await checkGrpcTarget(target);
  for (const port of target.ports) {
    const base = `http://127.0.0.1:${port}`;
    const who = await fetch(`${base}/whoami`, { headers: target.headers });
    const whoBody = await who.text();
    if (who.status !== 200) throw new Error(`${target.label}: GET /whoami answered ${who.status}: ${whoBody}`);
    const body = randomBytes(MIB);
    const echo = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/octet-stream' },
      body,
    });
    const echoed = Buffer.from(await echo.arrayBuffer());
    if (echo.status !== 200 || !echoed.equals(body)) throw new Error(`${target.label}: POST /echo of 1 MiB answered ${echo.status} with ${echoed.length} bytes`);
  }
}

// --- the report ----------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

function signedMs(us: number): string {
  return `${us >= 0 ? '+' : '−'}${Math.abs(us / 1000).toFixed(2)}`;
}

function find(cells: Cell[], key: Target['key'], payload: Payload, connections: number, budget?: number): Cell | undefined {
  return cells.find((c) => c.target.key === key && c.payload === payload && c.connections === connections && c.budget === budget);
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function table(cells: Cell[], o: Options): string {
  const head = [
    'target', 'payload', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'p50 added vs direct', 'req/s vs nginx',
    `proxy CPU (core ${o.proxyCpu})`, 'proxy CPU µs/req', `core ${o.loadCpu} busy`,
  ];
  const rows = cells.map((c) => {
    const direct = c.budget === undefined ? find(cells, 'direct', c.payload, c.connections) : undefined;
    const nginx = find(cells, 'nginx', c.payload, c.connections, c.budget);
    return [
      c.target.label,
      c.payload.label,
      c.budget === undefined ? String(c.connections) : `${c.connections}, proxy held to ${pct(c.budget)} of a core`,
      Math.round(c.rps).toLocaleString('en-US'),
      c.payload.grpcMessage === undefined ? ms(c.wrk.p50) : `${ms(c.wrk.p50)} (mean)`,
      c.payload.grpcMessage === undefined ? ms(c.wrk.p99) : `${ms(c.wrk.p99)} (max)`,
      direct === undefined || c.target.key === 'direct' ? '—' : `${signedMs(c.wrk.p50 - direct.wrk.p50)} ms`,
      nginx === undefined ? '—' : (c.rps / nginx.rps).toFixed(2),
      c.proxyCpu === undefined ? '—' : `${Math.round(c.proxyCpu * 100)}%`,
      c.proxyCpuPerRequestUs === undefined
        ? '—'
        : `${Math.round(c.proxyCpuPerRequestUs).toLocaleString('en-US')} (${pct(c.proxyUserShare ?? 0)} user)`,
      `${Math.round((c.coreBusy[o.loadCpu] ?? 0) * 100)}%`,
    ];
  });
  const line = (cols: string[]): string => `| ${cols.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i >= 2 ? '---:' : '---'))), ...rows.map(line)].join('\n');
}

/** The HAProxy targets: how many of their calls HAProxy relayed itself, from Berth's access lines. */
function fastPathLines(cells: Cell[]): string[] {
  const shown = cells.filter((c) => c.target.plane === 'haproxy' && c.access !== undefined);
  if (shown.length === 0) return [];
  return [
    `Fast path share of the HAProxy targets: Berth's node-API access lines over each cell (warm-up included), ` +
      `those of calls HAProxy relayed itself (\`dataPlane: "haproxy"\`) against those of calls Berth's own server behind it answered, ` +
      `next to the calls the load generator completed meanwhile:`,
    ...shown.map((c) => {
      const a = c.access!;
      const logged = a.haproxy + a.berth;
      const conns = c.budget === undefined ? `${c.connections} conn.` : `${c.connections} conn., held to ${pct(c.budget)}`;
      const share = logged > 0 ? `${((a.haproxy / logged) * 100).toFixed(2)}% by HAProxy` : 'no call logged';
      const cpu = (c.cpuByProcess ?? []).map((p) => `${p.name}${p.processes > 1 ? ` ×${p.processes}` : ''} ${Math.round(p.usPerRequest).toLocaleString('en-US')}`).join(', ');
      return (
        `- ${c.target.label}, ${c.payload.label}, ${conns}: ${share} ` +
        `(${a.haproxy.toLocaleString('en-US')} by HAProxy, ${a.berth.toLocaleString('en-US')} by Berth's server; ${a.requests.toLocaleString('en-US')} calls completed)` +
        (cpu === '' ? '' : `; CPU µs per call: ${cpu}`)
      );
    }),
  ];
}

interface Verdict {
  lines: string[];
}

function verdict(cells: Cell[], o: Options): Verdict {
  const lines: string[] = [];
  const yes = (ok: boolean): string => (ok ? '**met**' : '**not met**');
  lines.push(`Target 1 — p50 added latency under 1 ms (one connection, so the number is the hop itself, not queueing):`);
  for (const { key } of BERTH_TARGETS) {
    for (const payload of PAYLOADS) {
      const c = find(cells, key, payload, 1);
      const d = find(cells, 'direct', payload, 1);
      const n = find(cells, 'nginx', payload, 1);
      if (!c || !d) continue;
      const added = c.wrk.p50 - d.wrk.p50;
      const nginxAdded = n ? ` (nginx adds ${signedMs(n.wrk.p50 - d.wrk.p50)} ms)` : '';
      lines.push(`- ${c.target.label}, ${payload.label}: ${signedMs(added)} ms${nginxAdded} — ${yes(added < 1000)}`);
    }
  }
  lines.push('');
  lines.push(
    `Target 2 — at least 0.5 × nginx's requests per second at equal CPU for small calls (gRPC included) and 0.7 × for 1 MiB and 16 MiB bodies ` +
      `(${o.connections} connections, each proxy alone on core ${o.proxyCpu}):`,
  );
  for (const { key } of BERTH_TARGETS) {
    for (const payload of PAYLOADS) {
      const c = find(cells, key, payload, o.connections);
      const n = find(cells, 'nginx', payload, o.connections);
      if (!c || !n) continue;
      const parts: string[] = [];
      const cb = o.cpuBudget > 0 ? find(cells, key, payload, o.connections, o.cpuBudget) : undefined;
      const nb = o.cpuBudget > 0 ? find(cells, 'nginx', payload, o.connections, o.cpuBudget) : undefined;
      let verdictRatio: number;
      if (cb && nb) {
        verdictRatio = cb.rps / nb.rps;
        parts.push(
          `${verdictRatio.toFixed(2)} × nginx with both held to ${pct(o.cpuBudget)} of the core ` +
            `(${Math.round(cb.rps).toLocaleString('en-US')} vs ${Math.round(nb.rps).toLocaleString('en-US')} req/s) — ${yes(verdictRatio >= payload.ratioTarget)}`,
        );
        parts.push(`with the whole core ${(c.rps / n.rps).toFixed(2)} ×`);
      } else {
        verdictRatio = c.rps / n.rps;
        parts.push(`${verdictRatio.toFixed(2)} × nginx — ${yes(verdictRatio >= payload.ratioTarget)}`);
      }
      if ((n.proxyCpu ?? 0) < 0.9) parts.push(`but there nginx kept ${pct(1 - (n.proxyCpu ?? 0))} of its core idle, the load side being the limit`);
      if (c.proxyCpuPerRequestUs && n.proxyCpuPerRequestUs) {
        parts.push(
          `CPU per request: Berth ${Math.round(c.proxyCpuPerRequestUs).toLocaleString('en-US')} µs, nginx ${Math.round(n.proxyCpuPerRequestUs).toLocaleString('en-US')} µs ` +
            `(${(n.proxyCpuPerRequestUs / c.proxyCpuPerRequestUs).toFixed(2)} ×)`,
        );
      }
      lines.push(`- ${c.target.label}, ${payload.label}: ${parts.join('; ')}`);
    }
  }
  return { lines };
}

interface Machine {
  nproc: number;
  cpuModel: string;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
  h2load: string;
  docker: string;
  commit: string;
  loadBefore: string;
}

async function machine(): Promise<Machine> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const nproc = Number(await output('nproc', [])) || os.cpus().length;
  const head = await output('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = (await output('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'])).length > 0;
  return {
    nproc,
    cpuModel: model,
    kernel: os.release(),
    node: process.version,
    nginx: (await output(NGINX, ['-v'])).replace(/^nginx version:\s*/, ''),
    wrk: (await output(WRK, ['-v'])).split('\n')[0]!.replace(/\s+Copyright.*$/, ''),
    h2load: existsSync(H2LOAD) ? (await output(H2LOAD, ['--version'])).split('\n')[0]! : 'not installed',
    docker: await output('docker', ['version', '--format', '{{.Server.Version}}']),
    commit: `${head}${dirty ? ' (with uncommitted changes)' : ''}`,
    loadBefore: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

function report(cells: Cell[], o: Options, m: Machine, command: string, started: Date, berthFrom: string): string {
  const v = verdict(cells, o);
  return [
    BEGIN_MARK,
    `## Results of the last run`,
    '',
    `Run on ${started.toISOString().replace(/\.\d+Z$/, 'Z')} with`,
    '',
    '```sh',
    command,
    '```',
    '',
    '| machine | |',
    '|---|---|',
    `| cores (nproc) | ${m.nproc} |`,
    `| CPU | ${m.cpuModel} |`,
    `| kernel | ${m.kernel} |`,
    `| Node.js | ${m.node} |`,
    `| nginx | ${m.nginx} (1 worker, ${o.nginxBuffering ? 'bodies buffered in memory' : 'bodies streamed'}) |`,
    `| wrk | ${m.wrk} |`,
    `| h2load (gRPC rows) | ${m.h2load} |`,
    `| Docker engine | ${m.docker} |`,
    `| Berth | commit ${m.commit}, ${berthFrom} |`,
    `| load average before the run | ${m.loadBefore} |`,
    '',
    `Core ${o.proxyCpu}: Berth or nginx, one at a time; with HAProxy, Berth's CPU is its whole process tree (berth serve, the shell, HAProxy's master and worker). Core ${o.loadCpu}: wrk, both instances and their Docker port proxies. ` +
      `${o.duration} s measured per cell after ${o.warmup} s of warm-up; latencies are wrk's, from the load generator; ` +
      `the gRPC rows are driven by h2load (one stream at a time per connection), which reports a mean and a max instead of percentiles. ` +
      (o.rounds > 1 ? `${o.rounds} interleaved rounds; each cell shows its round with the highest req/s. ` : '') +
      (cells.some((c) => c.budget !== undefined)
        ? `Capacity cells ("proxy held to ${pct(o.cpuBudget)} of a core"): Berth or nginx in a CPU cgroup with a quota of ${pct(o.cpuBudget)} ` +
          `of one core (10 ms period), so that each proxy, not the load side, is the bottleneck; their latencies include the throttling. `
        : '') +
      `Other work on the machine just before each cell (busier core, benchmark at rest): ` +
      `median ${Math.round(median(cells.map((c) => c.background)) * 100)}%, max ${Math.round(Math.max(...cells.map((c) => c.background)) * 100)}%.`,
    '',
    table(cells, o),
    '',
    ...(fastPathLines(cells).length > 0 ? [...fastPathLines(cells), ''] : []),
    `### Against the targets`,
    '',
    ...v.lines,
    END_MARK,
  ].join('\n');
}

function writeDocs(file: string, section: string): void {
  let text: string;
  if (existsSync(file)) {
    text = readFileSync(file, 'utf8');
    const begin = text.indexOf(BEGIN_MARK);
    const end = text.indexOf(END_MARK);
    text = begin >= 0 && end > begin ? text.slice(0, begin) + section + text.slice(end + END_MARK.length) : `${text.trimEnd()}\n\n${section}\n`;
  } else {
    text = `# Benchmarks\n\n${section}\n`;
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

// --- main ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  for (const tool of [NGINX, WRK, TASKSET]) {
    if (!existsSync(tool)) throw new Error(`${tool} is missing: apt-get install -y nginx-light wrk util-linux (or run bench/node-api.sh)`);
  }
  clockTicks = Number(await output('getconf', ['CLK_TCK'])) || 100;
  const started = new Date();
  const facts = await machine();
  const clusterId = `bench${randomBytes(4).toString('hex')}`;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-bench-'));
  const dataDir = path.join(tmp, 'berth');
  const nginxDir = path.join(tmp, 'nginx');
  const wrkDir = path.join(tmp, 'wrk');
  mkdirSync(dataDir);
  mkdirSync(wrkDir);
  mkdirSync(nginxDir);
  // nginx workers drop root; they must reach their temp directories.
  chmodSync(tmp, 0o755);
  chmodSync(nginxDir, 0o777);

  const berthPorts: BerthPorts = { http: await freePort(), nodeApi: await freePort() };
  const host = new BerthHost((plane) => {
    log(`starting berth serve --data-plane ${plane} (cluster id ${clusterId}) on core ${o.proxyCpu}`);
    return startBerth(clusterId, dataDir, berthPorts, plane, o.proxyCpu, o);
  }, o.proxyCpu);
  let nginx: NginxProcess | undefined;
  let nodeId: string | undefined;
  let grpcNodeId: string | undefined;
  let budgetGroup: CpuBudget | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      activeWrk?.kill('SIGKILL');
      await stopProcess(nginx?.proc, nginx?.exited, 'SIGQUIT', 5000);
      const berth = host.current;
      for (const id of [nodeId, grpcNodeId]) {
        if (berth === undefined || id === undefined || berth.proc.exitCode !== null) continue;
        try {
          const op = await rest(berth.http, 'DELETE', `/v1/nodes/${id}`);
          if (op.status === 200) await rest(berth.http, 'POST', `/v1/operations/${op.body.id}:wait`, { timeout: '30s' });
        } catch {
          // removed by label below
        }
      }
      await host.stop();
      budgetGroup?.remove();
      const containers = (await output('docker', ['ps', '-aq', '--filter', `label=berth.run_id=${clusterId}`])).split('\n').filter((s) => /^[0-9a-f]+$/.test(s));
      if (containers.length > 0) await output('docker', ['rm', '-f', ...containers]);
      const networks = (await output('docker', ['network', 'ls', '-q', '--filter', `label=berth.run_id=${clusterId}`])).split('\n').filter((s) => /^[0-9a-f]+$/.test(s));
      if (networks.length > 0) await output('docker', ['network', 'rm', ...networks]);
      rmSync(tmp, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    log('building the test images');
    const images = await buildTestImages();

    if (o.profile !== undefined) mkdirSync(o.profile, { recursive: true });
    // The first Berth target's data plane first: no restart before it.
    const firstPlane = BERTH_TARGETS.find((t) => t.key === o.targets.find((k) => k.startsWith('berth')))?.plane ?? 'builtin';
    const b = await host.use(firstPlane, async () => {});
    const berthFrom = existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'berth.js')) ? 'run from dist/ (npm run build)' : 'run from the TypeScript sources through tsx';

    /** A Docker node fixed at two instances (the autoscaler must not add instances that nginx does not know about), waited healthy; its id and instances. */
    const createFixedNode = async (name: string, docker: object): Promise<{ id: string; instances: any[] }> => {
      log(`creating a Docker node "${name}" with 2 instances`);
      const created = await must(`create the node ${name}`, rest(b.http, 'POST', '/v1/nodes', { folderId: FOLDER, name, spec: { docker, instanceRange: { min: 2, max: 2 } } }));
      const id = created.resourceId as string;
      const op = await must(`wait for the node ${name}`, rest(b.http, 'POST', `/v1/operations/${created.id}:wait`, { timeout: '120s' }));
      if (!op.done || op.error) throw new Error(`the node ${name} did not become healthy: ${JSON.stringify(op)}`);
      const listed: any[] = (await must(`list the instances of ${name}`, rest(b.http, 'GET', `/v1/nodes/${id}/instances`))).instances;
      if (listed.length !== 2 || !listed.every((i) => i.state === 'INSTANCE_STATE_HEALTHY' && /^127\.0\.0\.1:\d+$/.test(i.address))) {
        throw new Error(`expected 2 healthy instances of ${name} on 127.0.0.1, got ${JSON.stringify(listed)}`);
      }
      log(`instances of ${name} at ${listed.map((i) => i.address).join(', ')}`);
      return { id, instances: listed };
    };

    const httpNode = await createFixedNode('bench', {
      image: images.http,
      endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '60s' },
      healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '1s', timeout: '1s' },
    });
    nodeId = httpNode.id;
    await must('create the alias', rest(b.http, 'POST', '/v1/aliases', { folderId: FOLDER, name: ALIAS, targets: [{ nodeId, weight: 100 }] }));
    const instances = httpNode.instances;
    const addresses = instances.map((i) => i.address as string);
    const instancePorts = addresses.map((a) => Number(a.split(':')[1]));

    // The gRPC rows: a node of the gRPC test image, two instances too.
    const grpcRows = o.payloads.some((k) => k.startsWith('grpc'));
    if (grpcRows && !existsSync(H2LOAD)) throw new Error(`the gRPC rows need ${H2LOAD} (apt-get install nghttp2-client), or leave them out with --payloads`);
    let grpcInstances: any[] = [];
    if (grpcRows) {
      const grpcNode = await createFixedNode('bench-grpc', {
        image: images.grpc,
        endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051, timeout: '60s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '1s', timeout: '1s' },
      });
      grpcNodeId = grpcNode.id;
      grpcInstances = grpcNode.instances;
    }
    const grpcAddresses = grpcInstances.map((i) => i.address as string);
    const grpcPorts = grpcAddresses.map((a) => Number(a.split(':')[1]));

    // Everything that is not the proxy goes to the load core.
    for (const i of [...instances, ...grpcInstances]) await run('docker', ['update', '--cpuset-cpus', String(o.loadCpu), i.runtimeId as string]);
    const proxies = dockerProxyPids([...instancePorts, ...grpcPorts]);
    for (const pid of proxies) await pin(o.loadCpu, pid);
    log(`pinned both containers and ${proxies.length} docker-proxy processes to core ${o.loadCpu}`);

    const nginxPort = await freePort();
    const nginxGrpcPort = grpcRows ? await freePort() : undefined;
    const conf = path.join(nginxDir, 'nginx.conf');
    writeFileSync(conf, nginxConfig(nginxDir, nginxPort, addresses, o.nginxBuffering, nginxGrpcPort === undefined ? undefined : { port: nginxGrpcPort, upstreams: grpcAddresses }));
    log(`starting nginx on 127.0.0.1:${nginxPort}, core ${o.proxyCpu}`);
    nginx = await startNginx(nginxDir, conf, nginxPort, o.proxyCpu);
    const ng = nginx;

    const nginxPid = ng.proc.pid!;
    const berthTarget = (key: TargetKey, label: string, headers: Record<string, string>, grpcHeaders: Record<string, string> | undefined): Target => ({
      key,
      label,
      ports: [berthPorts.nodeApi],
      headers,
      grpcPort: grpcHeaders === undefined ? undefined : berthPorts.nodeApi,
      grpcHeaders: grpcHeaders ?? {},
      pids: () => host.pids(),
      plane: BERTH_TARGETS.find((t) => t.key === key)!.plane,
      access: () => host.current?.access ?? { haproxy: 0, berth: 0 },
    });
    const grpcNodeHeaders = grpcNodeId === undefined ? undefined : { 'x-node-id': grpcNodeId };
    const aliasHeaders = { 'x-node-alias': ALIAS, 'x-folder-id': FOLDER };
    const targets: Target[] = [
      { key: 'direct', label: 'direct (no proxy)', ports: instancePorts, headers: {}, grpcPort: grpcPorts[0], grpcHeaders: {}, pids: () => [] },
      {
        key: 'nginx',
        label: 'nginx',
        ports: [nginxPort],
        headers: {},
        grpcPort: nginxGrpcPort,
        grpcHeaders: {},
        pids: () => [nginxPid, ...childrenOf(nginxPid)],
      },
      berthTarget('berth-node', 'Berth, x-node-id', { 'x-node-id': nodeId }, grpcNodeHeaders),
      // The alias names the HTTP node: its gRPC rows would repeat x-node-id's.
      berthTarget('berth-alias', 'Berth, x-node-alias', aliasHeaders, undefined),
      berthTarget('berth-haproxy-node', 'Berth + HAProxy, x-node-id', { 'x-node-id': nodeId }, grpcNodeHeaders),
      // Not on HAProxy's own path: HAProxy hands alias calls to Berth's server behind it.
      berthTarget('berth-haproxy-alias', 'Berth + HAProxy, x-node-alias', aliasHeaders, undefined),
    ];
    /**
     * A restarted Berth is ready when it adopted the same instances (nginx and
     * the pinning know those) and every target of its data plane answers.
     */
    const berthReady = async (plane: DataPlane): Promise<void> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          for (const [id, expected] of [[nodeId!, addresses], ...(grpcNodeId === undefined ? [] : [[grpcNodeId, grpcAddresses] as const])] as const) {
            const listed: any[] = (await must(`list the instances of ${id}`, rest(b.http, 'GET', `/v1/nodes/${id}/instances`))).instances;
            const healthy = listed.filter((i) => i.state === 'INSTANCE_STATE_HEALTHY').map((i) => i.address as string);
            if (healthy.length !== expected.length || !expected.every((a) => healthy.includes(a))) {
              throw new Error(`node ${id}: healthy instances at ${healthy.join(', ') || 'none'}, expected ${expected.join(', ')}`);
            }
          }
          for (const t of targets) if (t.plane === plane) await checkTarget(t, grpcRows);
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`berth serve --data-plane ${plane} did not serve the bench's targets within 60 s: ${(err as Error).message}`);
          await sleep(500);
        }
      }
    };
    for (const t of targets) if (t.plane === undefined || t.plane === firstPlane) await checkTarget(t, grpcRows);
    if (o.cpuBudget > 0) {
      budgetGroup = CpuBudget.create(`berth-bench-${clusterId}`);
      if (budgetGroup !== undefined) for (const pid of [...host.pids(), nginxPid, ...childrenOf(nginxPid)]) budgetGroup.add(pid);
      host.budget = budgetGroup;
    }
    const group = budgetGroup;

    const chosen = o.profile === undefined ? o.targets : o.targets.filter((k) => k.startsWith('berth'));
    const measured = chosen.map((k) => targets.find((t) => t.key === k)!);
    /** Connections and CPU budget of each cell of a target and payload. */
    const shapes = (target: Target): { connections: number; budget: number | undefined }[] => [
      { connections: 1, budget: undefined },
      { connections: o.connections, budget: undefined },
      ...(group !== undefined && target.key !== 'direct' ? [{ connections: o.connections, budget: o.cpuBudget }] : []),
    ];
    const payloads = PAYLOADS.filter((p) => o.payloads.includes(p.key));
    const total = o.rounds * measured.reduce((sum, t) => sum + shapes(t).length * payloads.filter((p) => p.grpcMessage === undefined || t.grpcPort !== undefined).length, 0);
    let done = 0;
    /** The kept round of each cell: the one with the highest req/s, the least disturbed. */
    const cells: Cell[] = [];
    for (let round = 1; round <= o.rounds; round++) {
      for (const target of measured) {
        for (const payload of payloads) {
          if (payload.grpcMessage !== undefined && target.grpcPort === undefined) continue;
          for (const { connections, budget } of shapes(target)) {
            const held = budget === undefined ? '' : `, proxy held to ${pct(budget)} of a core`;
            if (target.plane !== undefined) await host.use(target.plane, () => berthReady(target.plane!));
            const b = host.current;
            log(`[${++done}/${total}] ${o.rounds > 1 ? `round ${round}: ` : ''}${target.label}, ${payload.label}, ${connections} connection(s)${held}`);
            const gcBefore = { ...(b?.gc ?? { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0, external: 0, lastMarkCompact: '' }) };
            const cell = await measure(wrkDir, target, payload, connections, o, budget === undefined || group === undefined ? undefined : { group, share: budget });
            log(`  ${Math.round(cell.rps)} req/s, p50 ${ms(cell.wrk.p50)} ms, p99 ${ms(cell.wrk.p99)} ms`);
            if (o.traceGc && b !== undefined && target.plane !== undefined) {
              const g = b.gc;
              log(
                `  Berth GC (warm-up included): ${g.scavenges - gcBefore.scavenges} scavenges, ${(g.scavengeMs - gcBefore.scavengeMs).toFixed(0)} ms; ` +
                  `${g.markCompacts - gcBefore.markCompacts} mark-compacts, ${(g.markCompactMs - gcBefore.markCompactMs).toFixed(0)} ms ` +
                  `(${g.external - gcBefore.external} for external memory)`,
              );
              if (g.markCompacts > gcBefore.markCompacts) log(`  last: ${g.lastMarkCompact}`);
            }
            const kept = cells.findIndex((c) => c.target === target && c.payload === payload && c.connections === connections && c.budget === budget);
            if (kept < 0) cells.push(cell);
            else if (cell.rps > cells[kept]!.rps) cells[kept] = cell;
          }
        }
      }
    }
    if (host.current !== undefined && host.current.proc.exitCode !== null) throw new Error(`berth serve exited during the run:\n${host.current.logTail.join('\n')}`);
    if (o.profile !== undefined) {
      process.stdout.write(`\n${table(cells, o)}\n`);
      await cleanup();
      process.stdout.write(`\n${summarizeProfile(o.profile)}\n`);
      return;
    }

    const command = ['npx tsx bench/node-api.ts', ...argv].join(' ');
    const section = report(cells, o, facts, command, started, berthFrom);
    const fast = fastPathLines(cells);
    process.stdout.write(`\n${table(cells, o)}\n\n${fast.length > 0 ? `${fast.join('\n')}\n\n` : ''}${verdict(cells, o).lines.join('\n')}\n`);
    if (o.docs !== undefined) {
      writeDocs(o.docs, section);
      log(`wrote ${path.relative(process.cwd(), o.docs)}`);
    }
  } catch (err) {
    if (host.current !== undefined && host.current.proc.exitCode !== null) log(`berth serve log:\n${host.current.logTail.join('\n')}`);
    throw err;
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench/node-api.ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
