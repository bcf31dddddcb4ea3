import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { executable } from '../../host-checks';
import {
  RuntimeUnavailableError,
  type HeldResource,
  type HostPort,
  type InstanceSpec,
  type LogRead,
  type ObservedInstance,
  type RegistryAuth,
  type Runtime,
  type RuntimeCapabilities,
  type RuntimeEvent,
  type RuntimeEventListener,
} from '../runtime';
import { ProcessStartError } from './errors';
import { freePorts } from './free-ports';
import { INHERITED_ENV, instanceEnvironment } from './instance-environment';
import { tailFile } from './log-tail';
import { readLogFile } from './log-reader';
import { commandLine, placeholderValues } from './placeholders';
import { instanceGroup, isInstanceProcess } from './process-table';
import { isFileSafeId, readRecord, readRecords, removeRecord, writeRecord, type InstanceRecord } from './state-file';

/** The subset of a pino logger the runtime uses, so any pino (child) logger fits. */
export interface ProcessRuntimeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ProcessRuntimeOptions {
  /** Where the per-instance state files live (e.g. `<dataDir>/processes`); created on first use. */
  stateDir: string;
  /** Where each instance's stdout and stderr go, as `<logDir>/<instanceId>.log`; created on first use. */
  logDir: string;
  /**
   * Recorded in every state file and narrows every listing to it, so that a
   * test run sees and cleans up only its own processes.
   */
  runId?: string;
  /**
   * The address free ports are picked on and reported at; loopback by
   * default. With a wildcard (0.0.0.0) ports are reported at 127.0.0.1.
   */
  hostIp?: string;
  logger?: ProcessRuntimeLogger;
  /**
   * util-linux `prlimit`, used to apply memory limits; null runs without
   * limits. Default `/usr/bin/prlimit`, when it exists.
   */
  prlimitPath?: string | null;
  /** The variables an instance inherits from Berth's environment (default {@link INHERITED_ENV}). */
  inheritEnv?: readonly string[];
}

const NO_LOG: ProcessRuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** How often a stop checks whether the instance's processes are gone. */
const STOP_POLL_MS = 50;

/** How long a SIGKILLed process group may take to disappear before a stop gives up. */
const KILL_WAIT_MS = 5_000;

/** How often processes adopted from an earlier Berth (not its children) are checked for life. */
const ADOPTED_CHECK_MS = 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How a process this Berth spawned ended, as its 'exit' event told. */
interface SeenExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Signals a process group; one that is already gone needs no signal. */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Waits until the program has spawned (exec succeeded) or failed to. */
function spawned(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      reject(err);
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

/**
 * Runs each instance as a local OS process: the embedded default when no
 * Docker engine runs. The spec's image is ignored; its command and args name
 * a program on this host, which is told its ports and mounted files through
 * `BERTH_PORT_<port>` and `BERTH_MOUNT_<name>` (in its environment and
 * expanded in its command line).
 *
 * Each process leads its own process group and is not tied to Berth: it
 * survives Berth being killed (SIGKILL included) and is adopted by the next
 * Berth through its state file. So nothing here relies on memory or on child
 * process events for correctness: state files say what should run, `/proc`
 * says what does. Under a service manager that kills a service's whole
 * control group on stop (systemd's default), instances stop with Berth.
 *
 * Limits: memory is enforced as an address-space limit through `prlimit` when
 * util-linux provides it (a generous limit is needed for runtimes that reserve
 * much virtual memory, such as the JVM or V8); CPU limits are not enforced.
 * There is no network isolation between instances. A spec's `security`
 * (user, capabilities, read-only root, tmpfs) is ignored: a process runs as
 * Berth's own user with the host's filesystem, which is why this runtime
 * runs only where host code is allowed. It has no GPUs to give.
 */
export class ProcessRuntime implements Runtime {
  readonly kind = 'process' as const;

  private readonly stateDir: string;
  private readonly logDir: string;
  private readonly runId: string | undefined;
  private readonly hostIp: string;
  /** Where Berth itself reaches the instances' ports. */
  private readonly reachableHost: string;
  private readonly log: ProcessRuntimeLogger;
  private readonly prlimitPath: string | null;
  private readonly inheritEnv: readonly string[];
  /** Exits seen by this Berth process, by instance id: only the parent learns an exit status. */
  private readonly exits = new Map<string, SeenExit>();
  /** Starts in flight by instance id, so that concurrent starts of one instance start it once. */
  private readonly startsInFlight = new Map<string, Promise<ObservedInstance>>();
  private readonly listeners = new Set<RuntimeEventListener>();
  /** Live instance processes this Berth spawned: their 'exit' event tells when they end. */
  private readonly children = new Set<string>();
  /**
   * Live instance processes started by an earlier Berth: no exit event
   * reaches a process that is not the parent, so a cheap signal-0 check every
   * {@link ADOPTED_CHECK_MS} stands in for it.
   */
  private readonly adopted = new Map<string, { pid: number; nodeId: string }>();
  private adoptedTimer: NodeJS.Timeout | undefined;
  /**
   * The node of each instance whose state file was read (it never changes),
   * so that listing one node's instances reads only that node's files: a
   * pass over one node costs the same with 1 node or 200.
   */
  private readonly nodeOfInstance = new Map<string, string>();

  constructor(options: ProcessRuntimeOptions) {
    this.stateDir = options.stateDir;
    this.logDir = options.logDir;
    this.runId = options.runId;
    this.hostIp = options.hostIp ?? '127.0.0.1';
    this.reachableHost = this.hostIp === '0.0.0.0' || this.hostIp === '::' ? '127.0.0.1' : this.hostIp;
    this.log = options.logger ?? NO_LOG;
    const prlimit = options.prlimitPath === undefined ? '/usr/bin/prlimit' : options.prlimitPath;
    this.prlimitPath = prlimit !== null && executable(prlimit) ? prlimit : null;
    this.inheritEnv = options.inheritEnv ?? INHERITED_ENV;
  }

  /**
   * A process has no image: the one named is ignored (the spec's command
   * names the program), so every image is "available" and nothing is pulled.
   */
  async ensureImage(_image: string, _auth?: RegistryAuth): Promise<void> {}

  /**
   * Starts the instance's program, or adopts it when its state file names a
   * live process of that instance; a state file whose process is gone is
   * replaced. The state file is written before this returns, so a Berth killed
   * right after still finds the process.
   */
  startInstance(spec: InstanceSpec): Promise<ObservedInstance> {
    const inFlight = this.startsInFlight.get(spec.instanceId);
    if (inFlight) return inFlight;
    const started = this.startOnce(spec).finally(() => this.startsInFlight.delete(spec.instanceId));
    this.startsInFlight.set(spec.instanceId, started);
    return started;
  }

  /**
   * Reads every state file (of this run, when there is a run id) and checks
   * its process, so it reports processes started by an earlier Berth as well.
   */
  async listInstances(nodeId?: string): Promise<ObservedInstance[]> {
    const wanted = nodeId === undefined ? undefined : (instanceId: string) => (this.nodeOfInstance.get(instanceId) ?? nodeId) === nodeId;
    const { records, invalid } = await readRecords(this.stateDir, wanted);
    for (const name of invalid) this.log.warn({ stateDir: this.stateDir, file: name }, 'ignoring an unreadable state file');
    if (nodeId === undefined) this.nodeOfInstance.clear();
    for (const r of records) this.nodeOfInstance.set(r.instanceId, r.nodeId);
    return records.filter((r) => this.inScope(r) && (nodeId === undefined || r.nodeId === nodeId)).map((r) => this.observe(r));
  }

  /**
   * Reports the exit of every instance process: a child's 'exit' event, or,
   * for processes adopted from an earlier Berth, the check that runs while
   * someone listens.
   */
  watch(listener: RuntimeEventListener): () => void {
    this.listeners.add(listener);
    this.checkAdoptedLater();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        clearInterval(this.adoptedTimer);
        this.adoptedTimer = undefined;
      }
    };
  }

  private emit(event: RuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err }, 'runtime event listener failed');
      }
    }
  }

  private checkAdoptedLater(): void {
    if (this.adoptedTimer || this.listeners.size === 0 || this.adopted.size === 0) return;
    this.adoptedTimer = setInterval(() => {
      for (const [instanceId, { pid, nodeId }] of this.adopted) {
        try {
          process.kill(pid, 0);
        } catch {
          this.adopted.delete(instanceId);
          this.emit({ kind: 'exited', nodeId, instanceId, runtimeId: String(pid), exitReason: 'the process is gone' });
        }
      }
      if (this.adopted.size === 0) {
        clearInterval(this.adoptedTimer);
        this.adoptedTimer = undefined;
      }
    }, ADOPTED_CHECK_MS);
    this.adoptedTimer.unref();
  }

  /**
   * SIGTERM to the instance's process group, SIGKILL once the grace period is
   * over, then its state file and log are removed (as removing a container
   * removes its logs). An unknown instance, or one already stopped, is
   * success; a group that outlives SIGKILL is an error, and the state file is
   * kept so that a later call tries again.
   */
  async removeInstance(instanceId: string, graceSeconds = 5): Promise<void> {
    if (!isFileSafeId(instanceId)) return;
    const record = await readRecord(this.stateDir, instanceId);
    if (record && !this.inScope(record)) return;
    if (record) await this.stopGroup(record, graceSeconds);
    await removeRecord(this.stateDir, instanceId);
    await rm(this.logPath(instanceId), { force: true });
    this.exits.delete(instanceId);
    this.adopted.delete(instanceId);
    this.nodeOfInstance.delete(instanceId);
    if (record) this.log.info({ nodeId: record.nodeId, instanceId, pid: record.pid }, 'instance removed');
  }

  /**
   * A node owns nothing beside its instances here (no network): only state
   * files of its instances whose processes are gone are cleaned up. Live
   * instances are left to {@link removeInstance}.
   */
  async removeNodeResources(nodeId: string): Promise<void> {
    const { records } = await readRecords(this.stateDir);
    for (const record of records) {
      if (record.nodeId !== nodeId || !this.inScope(record)) continue;
      if (instanceGroup(record.pid, record.instanceId).length > 0) continue;
      await removeRecord(this.stateDir, record.instanceId);
      await rm(this.logPath(record.instanceId), { force: true });
      this.exits.delete(record.instanceId);
    }
  }

  /**
   * Every instance with a state file in this cluster, live or not. A process
   * runtime holds nothing else for a node (no network).
   */
  async listHeld(): Promise<HeldResource[]> {
    const { records } = await readRecords(this.stateDir);
    return records
      .filter((r) => this.inScope(r))
      .map((r) => ({ kind: 'instance' as const, nodeId: r.nodeId, id: r.instanceId, createdAt: new Date(r.startedAt) }));
  }

  /** Processes get no GPUs: a node that asks for them is refused before it is stored. */
  async capabilities(): Promise<RuntimeCapabilities> {
    return { gpuUnavailable: 'this Berth runs instances as host processes (the process runtime), which cannot be given GPUs' };
  }

  /** Lines of the instance's log file after a byte offset (see `log-reader.ts`). */
  async readLogs(instance: ObservedInstance, position: string): Promise<LogRead> {
    return readLogFile(this.logPath(instance.instanceId), position, instance.state !== 'running', new Date());
  }

  /** The last lines of the instance's log file (stdout and stderr interleaved); '' when there is none. */
  async tailLogs(instanceId: string, lines: number): Promise<string> {
    if (!isFileSafeId(instanceId)) return '';
    return tailFile(this.logPath(instanceId), lines);
  }

  private async startOnce(spec: InstanceSpec): Promise<ObservedInstance> {
    const log = { nodeId: spec.nodeId, instanceId: spec.instanceId };
    if (!isFileSafeId(spec.instanceId)) {
      throw new ProcessStartError(spec.instanceId, 'the instance id cannot name a state file');
    }

    const existing = await readRecord(this.stateDir, spec.instanceId);
    if (existing) {
      if (isInstanceProcess(existing.pid, existing.instanceId)) {
        this.log.info({ ...log, pid: existing.pid }, 'adopted running instance');
        return this.observe(existing);
      }
      this.log.info({ ...log, pid: existing.pid }, 'replacing an instance whose process is gone');
      // Whatever the dead program left running in its group would hold its ports.
      await this.stopGroup(existing, 0);
      await removeRecord(this.stateDir, spec.instanceId);
      this.exits.delete(spec.instanceId);
    }

    const containerPorts = [...new Set(spec.ports)];
    const hostPorts = await freePorts(containerPorts.length, this.hostIp);
    const portMap = new Map(containerPorts.map((p, i) => [p, hostPorts[i] ?? 0]));
    const values = placeholderValues(portMap, spec);
    const line = commandLine(spec, values);
    if (!line) throw new ProcessStartError(spec.instanceId, 'its command and args are both empty: a process needs a program');

    let argv = [line.program, ...line.args];
    if (spec.memoryBytes > 0) {
      if (this.prlimitPath) argv = [this.prlimitPath, `--as=${Math.floor(spec.memoryBytes)}`, '--', ...argv];
      else this.log.warn({ ...log, memoryBytes: spec.memoryBytes }, 'prlimit is not available: memory limit not applied');
    }
    if (spec.cpu > 0) this.log.debug({ ...log, cpu: spec.cpu }, 'the process runtime does not enforce CPU limits');

    await mkdir(this.logDir, { recursive: true });
    await mkdir(this.stateDir, { recursive: true });
    const logFile = await open(this.logPath(spec.instanceId), 'a', 0o600);
    let child: ChildProcess;
    try {
      const [program, ...args] = argv as [string, ...string[]];
      child = spawn(program, args, {
        detached: true,
        stdio: ['ignore', logFile.fd, logFile.fd],
        env: instanceEnvironment(spec, values, process.env, this.inheritEnv),
        windowsHide: true,
      });
      this.watchExit(child, spec);
      await spawned(child);
      this.children.add(spec.instanceId);
      this.adopted.delete(spec.instanceId);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `program ${line.program} not found` : (err as Error).message;
      throw new ProcessStartError(spec.instanceId, reason, { cause: err });
    } finally {
      await logFile.close();
    }

    const pid = child.pid;
    if (pid === undefined) throw new ProcessStartError(spec.instanceId, 'the operating system gave no process id');
    child.unref();

    const ports: Record<string, HostPort> = {};
    for (const [containerPort, port] of portMap) ports[String(containerPort)] = { host: this.reachableHost, port };
    const record: InstanceRecord = {
      folderId: spec.folderId,
      nodeId: spec.nodeId,
      instanceId: spec.instanceId,
      generation: spec.generation,
      runId: this.runId ?? null,
      pid,
      ports,
      startedAt: new Date().toISOString(),
      command: argv,
    };
    try {
      await writeRecord(this.stateDir, record);
    } catch (err) {
      // A process no state file names would run unseen, holding its ports: do not leave it.
      signalGroup(pid, 'SIGKILL');
      throw new RuntimeUnavailableError(`the state file of instance ${spec.instanceId} could not be written`, { cause: err });
    }
    this.log.info({ ...log, pid, ports }, 'instance started');
    return this.observe(record);
  }

  /**
   * Records how a process this Berth spawned ends. Node collects the exit
   * status of its children (so they do not linger as zombies) and only the
   * parent learns it: an instance adopted after a restart exits unexplained.
   */
  private watchExit(child: ChildProcess, spec: InstanceSpec): void {
    const log = { nodeId: spec.nodeId, instanceId: spec.instanceId };
    child.on('exit', (code, signal) => {
      const pid = child.pid;
      if (pid === undefined) return;
      this.exits.set(spec.instanceId, { pid, code, signal });
      this.children.delete(spec.instanceId);
      this.log.debug({ ...log, pid, code, signal }, 'instance process exited');
      const exitReason = code !== null ? `exit code ${code}` : `killed by ${signal ?? 'a signal'}`;
      this.emit({ kind: 'exited', nodeId: spec.nodeId, instanceId: spec.instanceId, runtimeId: String(pid), exitReason });
    });
    // After a successful spawn, errors come only from signalling it; they must not crash Berth.
    child.on('error', (err) => this.log.debug({ ...log, pid: child.pid, err }, 'instance process error'));
  }

  /**
   * SIGTERM, then SIGKILL after `graceSeconds`, to the instance's process
   * group, until none of its processes is left.
   */
  private async stopGroup(record: InstanceRecord, graceSeconds: number): Promise<void> {
    const { pid, instanceId } = record;
    if (instanceGroup(pid, instanceId).length === 0) return;
    if (graceSeconds > 0) {
      signalGroup(pid, 'SIGTERM');
      if (await this.waitForGroupGone(record, graceSeconds * 1000)) return;
      this.log.warn({ nodeId: record.nodeId, instanceId, pid, graceSeconds }, 'instance did not stop within its grace period, killing it');
    }
    signalGroup(pid, 'SIGKILL');
    if (await this.waitForGroupGone(record, KILL_WAIT_MS)) return;
    throw new RuntimeUnavailableError(`instance ${instanceId} (process group ${pid}) is still running after SIGKILL`);
  }

  private async waitForGroupGone(record: InstanceRecord, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (instanceGroup(record.pid, record.instanceId).length === 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(STOP_POLL_MS);
    }
  }

  private inScope(record: InstanceRecord): boolean {
    return this.runId === undefined || record.runId === this.runId;
  }

  private logPath(instanceId: string): string {
    return join(this.logDir, `${instanceId}.log`);
  }

  /** The instance as it is now: running while its process lives, else exited with what is known of why. */
  private observe(record: InstanceRecord): ObservedInstance {
    const ports: Record<number, HostPort> = {};
    for (const [containerPort, hostPort] of Object.entries(record.ports)) ports[Number(containerPort)] = { ...hostPort };
    const base = {
      folderId: record.folderId,
      nodeId: record.nodeId,
      instanceId: record.instanceId,
      generation: record.generation,
      runtimeId: String(record.pid),
      startedAt: new Date(record.startedAt),
      ports,
    };
    if (isInstanceProcess(record.pid, record.instanceId)) {
      if (!this.children.has(record.instanceId) && !this.adopted.has(record.instanceId)) {
        this.adopted.set(record.instanceId, { pid: record.pid, nodeId: record.nodeId });
        this.checkAdoptedLater();
      }
      return { ...base, state: 'running' };
    }
    const seen = this.exits.get(record.instanceId);
    if (seen?.pid === record.pid) {
      if (seen.code !== null) return { ...base, state: 'exited', exitCode: seen.code, exitReason: `exit code ${seen.code}` };
      if (seen.signal !== null) {
        // As a shell (and Docker) reports it: 128 + the signal number.
        const exitCode = 128 + (osConstants.signals[seen.signal] ?? 0);
        return { ...base, state: 'exited', exitCode, exitReason: `killed by ${seen.signal}` };
      }
    }
    // Started by an earlier Berth, or its exit not collected yet: the exit status is not known.
    return { ...base, state: 'exited', exitReason: 'the process is gone' };
  }
}
