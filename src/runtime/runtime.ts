/**
 * The one interface between the supervisor and whatever runs instances
 * (Docker containers, local processes, Swarm services). The supervisor never
 * talks to an engine directly: it lists what runs by label, compares with the
 * database and calls these idempotent steps.
 */

import type { ContainerSecurity } from '../domain/container-security';

/** Everything a runtime needs to start one instance of a node. */
export interface InstanceSpec {
  /** Owning folder, node and instance: recorded as labels on whatever is created. */
  folderId: string;
  nodeId: string;
  instanceId: string;
  /** The node spec generation the instance is made for (label `berth.generation`). */
  generation: number;
  image: string;
  /** Overrides the image entrypoint when non-empty. */
  command: string[];
  /** Overrides the image command when non-empty. */
  args: string[];
  env: Record<string, string>;
  /**
   * Container ports to publish on the host's loopback; the runtime picks free
   * host ports. The process runtime has no container: it gives the process
   * the host port in `${BERTH_PORT_<port>}` (expanded in command and args, and
   * set in the environment).
   */
  ports: number[];
  /** CPU cores, 0 = unlimited. */
  cpu: number;
  /** Memory limit in bytes, 0 = unlimited. */
  memoryBytes: number;
  /**
   * GPUs the instance gets (Docker: that many NVIDIA devices); absent or 0:
   * none. Nodes that ask for GPUs are refused where
   * {@link Runtime.capabilities} says there are none, so a runtime without
   * GPUs never sees this above 0.
   */
  gpu?: number;
  /**
   * How the container is confined beyond the runtime's defaults; absent:
   * the defaults (see `docker/container-spec.ts`). The process runtime
   * ignores it: it runs host processes as Berth's own user, which is why it
   * only runs where Berth is told host code is allowed.
   */
  security?: ContainerSecurity;
  /** Registry credentials for a pull, when the node names a registry secret. */
  registryAuth?: RegistryAuth;
  /**
   * Host files the instance reads (the checkpoint blob, the worker). Docker
   * bind-mounts them read-only at `target`; the process runtime reads them in
   * place, so commands refer to them through `${BERTH_MOUNT_<name>}`.
   */
  mounts?: Mount[];
}

export interface Mount {
  /** Upper-case name, used in `${BERTH_MOUNT_<name>}`. */
  name: string;
  source: string;
  target: string;
}

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress?: string;
}

/** Where a published container port is reachable from Berth. */
export interface HostPort {
  host: string;
  port: number;
}

export type ObservedState = 'created' | 'running' | 'exited' | 'missing';

/** What the runtime reports about one instance, read back from the engine by label. */
export interface ObservedInstance {
  folderId: string;
  nodeId: string;
  instanceId: string;
  generation: number;
  /** Container id (docker) or pid (process). */
  runtimeId: string;
  state: ObservedState;
  /** Set once the instance has exited. */
  exitCode?: number;
  /** A short human-readable reason for an exit (e.g. "OOMKilled", "exit code 1"). */
  exitReason?: string;
  startedAt?: Date;
  /** Published ports by container port. */
  ports: Record<number, HostPort>;
}

/**
 * Something a runtime holds for a node: one of its instances, or what the
 * node owns beside them (a network). Listed for the garbage collector, which
 * removes what belongs to no node once it is older than the orphan grace
 * period.
 */
export interface HeldResource {
  kind: 'instance' | 'node-resource';
  nodeId: string;
  /** The instance id of an instance; the engine's id of a node resource. */
  id: string;
  /** When the engine created it (for a process, when it started). */
  createdAt: Date;
}

/** Thrown by {@link Runtime.ensureImage} when an image is neither local nor pullable. */
export class ImageUnavailableError extends Error {
  constructor(
    readonly image: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${image} is not available: ${reason}`, options);
    this.name = 'ImageUnavailableError';
  }
}

/** Thrown when the engine itself cannot be reached or refuses a call. */
export class RuntimeUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RuntimeUnavailableError';
  }
}

/**
 * Something happened to instances that the runtime noticed on its own, without
 * being asked: an instance's process or container ended (`exited`), or the
 * runtime may have missed such news (`resync`: list everything again).
 */
export type RuntimeEvent =
  | { kind: 'exited'; nodeId: string; instanceId: string; runtimeId: string; exitReason?: string }
  | { kind: 'resync'; reason: string };

export type RuntimeEventListener = (event: RuntimeEvent) => void;

/** One line an instance printed, as the runtime read it. */
export interface RuntimeLogLine {
  stream: 'stdout' | 'stderr';
  time: Date;
  text: string;
}

/** Lines read by {@link Runtime.readLogs} and where to read on. */
export interface LogRead {
  lines: RuntimeLogLine[];
  position: string;
}

/** What a runtime can give instances beyond CPU and memory. */
export interface RuntimeCapabilities {
  /** Why instances cannot get GPUs, as a sentence; undefined when they can. */
  gpuUnavailable?: string;
}

export interface Runtime {
  readonly kind: 'docker' | 'process' | 'swarm';

  /**
   * Makes sure the image is present: used as found locally, pulled (with the
   * given credentials) otherwise — or, for the docker runtime's system image,
   * built (which takes minutes; `onProgress` hears each line of the build).
   * Throws ImageUnavailableError with a reason a person understands.
   */
  ensureImage(image: string, auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void>;

  /**
   * Creates and starts one instance. Idempotent by instanceId: when an instance
   * with that id already exists and runs, it is adopted and returned; when it
   * exists but is not running it is replaced.
   */
  startInstance(spec: InstanceSpec): Promise<ObservedInstance>;

  /**
   * Lists the instances this runtime manages, read from the engine by label:
   * every node's, or only those of `nodeId`.
   */
  listInstances(nodeId?: string): Promise<ObservedInstance[]>;

  /**
   * Tells the listener as soon as an instance ends (the engine's `die` event,
   * a child's exit), so that a dead instance leaves balancing and its node's
   * status changes at once rather than at the next health probe. Events are a
   * hint for when to look: the listener still lists to learn the truth, and
   * lists everything after a `resync`. Returns the unsubscribe function.
   */
  watch(listener: RuntimeEventListener): () => void;

  /**
   * Stops (with a grace period, SIGTERM then SIGKILL) and removes one instance.
   * "Not found" and "already stopped" count as success.
   */
  removeInstance(instanceId: string, graceSeconds?: number): Promise<void>;

  /** Removes what the node owns beside its instances (its network). Not found is success. */
  removeNodeResources(nodeId: string): Promise<void>;

  /**
   * Everything this runtime holds for nodes (instances and node resources),
   * within its scope (its cluster id), read from the engine: what a crash, a
   * lost notification or an earlier version left behind shows here too.
   */
  listHeld(): Promise<HeldResource[]>;

  /** The last lines of an instance's stdout/stderr, for reasons and logs. */
  tailLogs(instanceId: string, lines: number): Promise<string>;

  /**
   * What the instance printed after `position` (a value an earlier call
   * returned; '' for the beginning of this run), as lines with their stream
   * and time, and the position to read on from. Reads a bounded amount per
   * call; an unfinished last line waits for its newline while the instance
   * runs. Missing (a runtime that cannot do it) means no log collection.
   */
  readLogs?(instance: ObservedInstance, position: string): Promise<LogRead>;

  /**
   * What instances can get here (GPUs), asked before a node that needs it is
   * stored, so that such a node is refused at once instead of failing later.
   * Cached by the runtime; throws RuntimeUnavailableError when the engine
   * cannot be asked.
   */
  capabilities(): Promise<RuntimeCapabilities>;
}
