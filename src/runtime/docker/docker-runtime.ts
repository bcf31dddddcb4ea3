import { statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import Dockerode from 'dockerode';
import {
  ImageUnavailableError,
  RuntimeUnavailableError,
  type HeldResource,
  type InstanceSpec,
  type LogRead,
  type ObservedInstance,
  type RegistryAuth,
  type Runtime,
  type RuntimeCapabilities,
  type RuntimeEventListener,
} from '../runtime';
import { followEngineEvents } from './engine-events';
import { readContainerLogs } from './log-reader';
import { pullFailure, pullImage } from './image-pull';
import { containerCreateOptions } from './container-spec';
import { EngineCapabilities, type EngineInfo } from './engine-capabilities';
import {
  engineMessageOf,
  isConflict,
  isNotFound,
  isNotModified,
  translateEngineError,
} from './errors';
import { LABELS, containerName, scopeFilter } from './labels';
import { NodeNetworks } from './node-networks';
import { toObservedInstance } from './observed-instance';
import { DEFAULT_NODE_NETWORK_POOL, parsePool } from './subnet-pool';
import { STAGE, SystemImageBuilds, type SystemImageOptions } from './system-image';

/** The subset of a pino logger the runtime uses, so any pino (child) logger fits. */
export interface DockerRuntimeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface DockerRuntimeOptions {
  /** The engine client; by default one for DOCKER_HOST or the local socket. */
  docker?: Dockerode;
  /**
   * Adds the label `berth.run_id` to everything created and narrows every
   * listing to it, so that a test run sees and cleans up only its own things.
   */
  runId?: string;
  /**
   * The host address ports are published on and reported at; loopback by
   * default. With a wildcard (0.0.0.0) ports are reported at 127.0.0.1.
   */
  hostIp?: string;
  logger?: DockerRuntimeLogger;
  /** Deadline for one Docker API call (default 15 s). Stops add their grace period to it. */
  apiTimeoutMs?: number;
  /** A pull that makes no progress for this long is abandoned (default 30 s). */
  pullIdleTimeoutMs?: number;
  /**
   * Pull images that are not present (default true). Off where no registry is
   * reachable, so that a missing image fails at once and nothing reaches out.
   */
  pullMissing?: boolean;
  /**
   * The IPv4 CIDR node networks take their subnets from (one /25 per node);
   * default {@link DEFAULT_NODE_NETWORK_POOL}. Throws InvalidPoolError when
   * it is not a usable pool.
   */
  nodeNetworkPool?: string;
  /**
   * The system image of checkpoint instances and its builder: when that image
   * is missing, {@link DockerRuntime.ensureImage} builds it (once, whoever
   * asks) instead of pulling it, as nobody publishes it in a registry.
   */
  systemImage?: SystemImageOptions;
}

const NO_LOG: DockerRuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** How many containers listInstances inspects at once. */
const INSPECT_CONCURRENCY = 16;

/** Create and start are retried after a conflict or a network race, this many times in all. */
const START_ATTEMPTS = 5;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Between 0.5 and 1.5 times `ms`, so that parties racing each other fall out of step. */
const jitter = (ms: number): number => ms * (0.5 + Math.random());

/**
 * The node's network went away, or has a duplicate, between ensureNetwork and
 * create/start: another process is creating or settling it. Trying again
 * after {@link DockerRuntime.ensureNetwork} settles it is the way out.
 */
function isNetworkRace(err: unknown): boolean {
  const message = engineMessageOf(err);
  return /network .* is ambiguous/i.test(message) || (/network/i.test(message) && /not found/i.test(message));
}

/**
 * Runs each instance as one Docker container on its node's own bridge network.
 *
 * Every step is idempotent and every container is found again by its labels,
 * never by memory: the supervisor may call any step twice, crash half-way, or
 * restart and call {@link listInstances} to adopt what is running. Engine
 * errors leave this class only as {@link RuntimeUnavailableError},
 * {@link ImageUnavailableError} or `DockerEngineError`.
 */
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;

  private readonly docker: Dockerode;
  private readonly runId: string | undefined;
  private readonly hostIp: string;
  /** Where Berth itself reaches published ports. */
  private readonly reachableHost: string;
  private readonly log: DockerRuntimeLogger;
  private readonly apiTimeoutMs: number;
  private readonly pullIdleTimeoutMs: number;
  private readonly pullMissing: boolean;
  private readonly networks: NodeNetworks;
  private readonly engine: EngineCapabilities;
  private readonly systemImage: string | undefined;
  private readonly systemImageBuilds: SystemImageBuilds | undefined;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? new Dockerode();
    this.runId = options.runId;
    this.hostIp = options.hostIp ?? '127.0.0.1';
    this.reachableHost = this.hostIp === '0.0.0.0' || this.hostIp === '::' ? '127.0.0.1' : this.hostIp;
    this.log = options.logger ?? NO_LOG;
    this.apiTimeoutMs = options.apiTimeoutMs ?? 15_000;
    this.pullIdleTimeoutMs = options.pullIdleTimeoutMs ?? 30_000;
    this.pullMissing = options.pullMissing ?? true;
    this.systemImage = options.systemImage?.image;
    this.systemImageBuilds = options.systemImage ? new SystemImageBuilds(options.systemImage.builder) : undefined;
    this.networks = new NodeNetworks({
      docker: this.docker,
      runId: this.runId,
      pool: parsePool(options.nodeNetworkPool ?? DEFAULT_NODE_NETWORK_POOL),
      call: (operation, fn) => this.call(operation, fn),
      log: this.log,
    });
    this.engine = new EngineCapabilities(() => this.call('info', () => this.docker.info() as Promise<EngineInfo>));
  }

  capabilities(): Promise<RuntimeCapabilities> {
    return this.engine.get();
  }

  async ensureImage(image: string, auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void> {
    try {
      await this.call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (image === this.systemImage && this.systemImageBuilds) return this.buildSystemImage(this.systemImageBuilds, image, onProgress);
    if (!this.pullMissing) throw new ImageUnavailableError(image, 'not found locally, and pulling missing images is off');
    this.log.info({ image, withCredentials: auth !== undefined }, 'image not found locally, pulling');
    try {
      await pullImage(this.docker, image, auth, this.pullIdleTimeoutMs);
      await this.call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    } catch (err) {
      // The engine went away: that is not the image's fault.
      if (err instanceof RuntimeUnavailableError) throw err;
      // The engine's message, not the error: its cause chain is not kept, so no credential can ride along.
      throw new ImageUnavailableError(image, `not found locally and the pull failed: ${pullFailure(engineMessageOf(err), auth)}`);
    }
    this.log.info({ image }, 'image pulled');
  }

  /** The system image is built here, never pulled: no registry has it. Pulls being off does not stop a build. */
  private async buildSystemImage(builds: SystemImageBuilds, image: string, onProgress?: (line: string) => void): Promise<void> {
    const started = Date.now();
    const joined = builds.building(image);
    this.log.info({ image, joined }, joined ? 'waiting for the system image build under way' : 'system image not found locally, building it');
    let stage = '';
    try {
      await builds.build(image, (line) => {
        // The script marks its stages "[n/m] what"; the stages at info, every line at debug.
        const marker = STAGE.exec(line);
        if (marker) {
          stage = marker[1]!;
          this.log.info({ image, line }, 'system image build');
        } else this.log.debug({ image, line }, 'system image build');
        onProgress?.(`building system image ${image}${stage ? ` (${stage})` : ''}: ${marker ? marker[2] : line}`);
      });
      await this.call(`inspect image ${image}`, () => this.docker.getImage(image).inspect());
    } catch (err) {
      if (err instanceof RuntimeUnavailableError) throw err;
      const message = isNotFound(err) ? 'the build ended without it' : (err as Error).message;
      this.log.warn({ image, err: message }, 'system image build failed');
      throw new ImageUnavailableError(image, `not found locally and building it failed: ${message}`);
    }
    if (!joined) this.log.info({ image, seconds: Math.round((Date.now() - started) / 1000) }, 'system image built');
  }

  async startInstance(spec: InstanceSpec): Promise<ObservedInstance> {
    assertMountable(spec);
    const name = containerName(spec.nodeId, spec.instanceId);
    const log = { nodeId: spec.nodeId, instanceId: spec.instanceId, container: name };

    for (let attempt = 1; ; attempt++) {
      const retry = attempt < START_ATTEMPTS;
      const networkId = await this.ensureNetwork(spec.nodeId);
      const options = containerCreateOptions(spec, { networkId, hostIp: this.hostIp, runId: this.runId });

      let container: Dockerode.Container;
      try {
        container = await this.call(`create container ${name}`, (abortSignal) =>
          this.docker.createContainer({ ...options, abortSignal }),
        );
      } catch (err) {
        if (isConflict(err) && retry) {
          const existing = await this.inspectContainer(name);
          if (existing?.State.Running) {
            const observed = this.observe(existing);
            if (observed) {
              this.log.info({ ...log, containerId: existing.Id }, 'adopted running instance');
              return observed;
            }
          }
          if (existing) {
            this.log.info({ ...log, containerId: existing.Id, state: existing.State.Status }, 'replacing stopped instance');
            await this.forceRemove(existing.Id);
          }
          continue;
        }
        if (isNotFound(err) && /no such image/i.test(engineMessageOf(err))) {
          // Removed since it was checked: pulled again (with the node's credentials) when pulls are on.
          if (this.pullMissing && retry) {
            await this.ensureImage(spec.image, spec.registryAuth);
            continue;
          }
          throw new ImageUnavailableError(spec.image, 'not found locally (it was never pulled, or was removed)', {
            cause: err,
          });
        }
        if (isNetworkRace(err) && retry) {
          this.log.debug({ ...log, err }, 'node network changed under the create, trying again');
          await sleep(jitter(100 * attempt));
          continue;
        }
        throw err;
      }

      try {
        await this.call(`start container ${name}`, (abortSignal) => container.start({ abortSignal }));
      } catch (err) {
        if (!isNotModified(err)) {
          // A container that could not start (bad command, say) is useless; do not leave it behind.
          await this.forceRemove(container.id).catch((removeErr: unknown) =>
            this.log.warn({ ...log, err: removeErr }, 'could not remove a container that failed to start'),
          );
          if (isNetworkRace(err) && retry) {
            this.log.debug({ ...log, err }, 'node network changed under the start, trying again');
            await sleep(jitter(100 * attempt));
            continue;
          }
          throw err;
        }
      }

      const info = await this.inspectContainer(container.id);
      const observed = info && this.observe(info);
      if (!observed) {
        throw new RuntimeUnavailableError(`container ${name} disappeared right after it was started`);
      }
      this.log.info({ ...log, containerId: container.id, ports: observed.ports }, 'instance started');
      return observed;
    }
  }

  /**
   * Lists containers by label, then inspects each: only inspect tells the exit
   * code, OOM kill, start time and the host ports Docker picked.
   */
  async listInstances(nodeId?: string): Promise<ObservedInstance[]> {
    const containers = await this.listContainers(...(nodeId === undefined ? [] : [`${LABELS.nodeId}=${nodeId}`]));
    const observed: ObservedInstance[] = [];
    for (let i = 0; i < containers.length; i += INSPECT_CONCURRENCY) {
      const batch = containers.slice(i, i + INSPECT_CONCURRENCY);
      const infos = await Promise.all(batch.map((c) => this.inspectContainer(c.Id)));
      for (const info of infos) {
        // Gone between list and inspect: it is not running, and the next list will not show it.
        if (!info) continue;
        const instance = this.observe(info);
        if (instance) observed.push(instance);
        else this.log.warn({ containerId: info.Id, labels: info.Config.Labels }, 'managed container without instance labels');
      }
    }
    return observed;
  }

  /** Follows the engine's `die` events of this cluster's containers (see {@link followEngineEvents}). */
  watch(listener: RuntimeEventListener): () => void {
    return followEngineEvents(this.docker, this.runId, listener, this.log);
  }

  async removeInstance(instanceId: string, graceSeconds = 5): Promise<void> {
    for (const found of await this.listContainers(`${LABELS.instanceId}=${instanceId}`)) {
      const container = this.docker.getContainer(found.Id);
      try {
        await this.call(
          `stop container ${found.Id}`,
          (abortSignal) => container.stop({ t: graceSeconds, abortSignal }),
          this.apiTimeoutMs + graceSeconds * 1000,
        );
      } catch (err) {
        if (!isNotFound(err) && !isNotModified(err)) throw err;
      }
      await this.forceRemove(found.Id);
      this.log.info({ instanceId, containerId: found.Id }, 'instance removed');
    }
  }

  /**
   * Removes the node's network, whether or not the node ever had containers.
   * One that still has running containers is not taken from under them: the
   * engine refuses (DockerEngineError, status 403), so instances go first.
   */
  async removeNodeResources(nodeId: string): Promise<void> {
    await this.networks.remove(nodeId);
  }

  /**
   * Returns the id of the node's network, creating it (on a free subnet of
   * the node network pool) when missing. startInstance calls it; it is
   * public so that a node's network can be made without a container.
   */
  ensureNetwork(nodeId: string): Promise<string> {
    return this.networks.ensure(nodeId);
  }

  /** The containers and node networks of this cluster, with the node each belongs to. */
  async listHeld(): Promise<HeldResource[]> {
    const held: HeldResource[] = [];
    for (const c of await this.listContainers()) {
      const nodeId = c.Labels?.[LABELS.nodeId];
      const instanceId = c.Labels?.[LABELS.instanceId];
      if (nodeId && instanceId) held.push({ kind: 'instance', nodeId, id: instanceId, createdAt: new Date(c.Created * 1000) });
    }
    for (const n of await this.networks.list()) held.push({ kind: 'node-resource', nodeId: n.nodeId, id: n.id, createdAt: n.createdAt });
    return held;
  }

  /** Lines of the instance's container after a position (see `log-reader.ts`); a container gone has none. */
  async readLogs(instance: ObservedInstance, position: string): Promise<LogRead> {
    try {
      return await this.call(`read logs of ${instance.runtimeId}`, (abortSignal) => readContainerLogs(this.docker, instance.runtimeId, position, abortSignal));
    } catch (err) {
      if (isNotFound(err)) return { lines: [], position };
      throw err;
    }
  }

  /** An instance that no longer exists has no logs: that is an empty string, not an error. */
  async tailLogs(instanceId: string, lines: number): Promise<string> {
    if (lines <= 0) return '';
    const [found] = await this.listContainers(`${LABELS.instanceId}=${instanceId}`);
    if (!found) return '';
    let raw: Buffer;
    try {
      raw = await this.call(`read logs of ${found.Id}`, (abortSignal) =>
        this.docker.getContainer(found.Id).logs({ stdout: true, stderr: true, tail: lines, follow: false, abortSignal }),
      );
    } catch (err) {
      if (isNotFound(err)) return '';
      throw err;
    }
    return this.demultiplex(raw);
  }

  /**
   * Docker frames a non-TTY container's output with an 8-byte header per
   * chunk; stdout and stderr are merged back in their original order.
   */
  private async demultiplex(raw: Buffer): Promise<string> {
    const source = new PassThrough();
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    this.docker.modem.demuxStream(source, sink, sink);
    source.end(raw);
    await finished(source);
    sink.end();
    await finished(sink);
    return Buffer.concat(chunks).toString('utf8');
  }

  private listContainers(...labels: string[]): Promise<Dockerode.ContainerInfo[]> {
    return this.call('list containers', (abortSignal) =>
      this.docker.listContainers({ all: true, filters: { label: scopeFilter(this.runId, ...labels) }, abortSignal }),
    );
  }

  /** Inspect by id or name; undefined when there is no such container. */
  private async inspectContainer(idOrName: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      return await this.call(`inspect container ${idOrName}`, (abortSignal) =>
        this.docker.getContainer(idOrName).inspect({ abortSignal }),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Removes a container whatever its state; gone, or already being removed, is success. */
  private async forceRemove(id: string): Promise<void> {
    try {
      await this.call(`remove container ${id}`, (abortSignal) =>
        this.docker.getContainer(id).remove({ force: true, abortSignal }),
      );
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err) && /already in progress/i.test(engineMessageOf(err))) return;
      throw err;
    }
  }

  private observe(info: Dockerode.ContainerInspectInfo): ObservedInstance | undefined {
    return toObservedInstance(info, this.reachableHost);
  }

  /**
   * Every Docker API call goes through here: a deadline (aborting the request
   * when it passes) and translation of whatever went wrong.
   */
  private async call<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = this.apiTimeoutMs): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new RuntimeUnavailableError(
          `the Docker engine did not answer (${operation}) within ${timeoutMs / 1000} s`,
        );
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      return await Promise.race([fn(controller.signal), deadline]);
    } catch (err) {
      throw translateEngineError(err, operation);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Containers get host files (the worker script, a checkpoint blob), never a
 * directory or a socket: whatever a spec says, a container cannot see the
 * Docker socket (which is root on the host) or Berth's data dir through a mount.
 */
function assertMountable(spec: InstanceSpec): void {
  for (const mount of spec.mounts ?? []) {
    let isFile = false;
    try {
      isFile = statSync(mount.source).isFile();
    } catch (err) {
      throw new Error(`instance ${spec.instanceId}: cannot mount ${mount.source}: ${(err as Error).message}`, { cause: err });
    }
    if (!isFile) throw new Error(`instance ${spec.instanceId}: ${mount.source} is not a regular file; only files are mounted into containers`);
  }
}
