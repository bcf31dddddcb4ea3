import type { Checkpoint } from '../domain/checkpoint';
import type { ContainerSecurity } from '../domain/container-security';
import { checkpointImageOf } from '../domain/environment';
import { FailedPreconditionError } from '../domain/errors';
import { WORKER_TOKEN_ENV, workerAuthorization } from '../checkpoint/worker-token';
import type { DockerSource, HealthCheck, Node } from '../domain/node';
import type { InstanceSpec, RegistryAuth, Runtime } from '../runtime/runtime';

/** The port the checkpoint worker serves on inside its instance. */
export const WORKER_PORT = 8080;

/** Checkpoint instances: the worker answers /healthz once the checkpoint is restored. */
const WORKER_HEALTH: HealthCheck = {
  type: 'http',
  port: WORKER_PORT,
  path: '/healthz',
  grpcService: '',
  timeoutMs: 1000,
  intervalMs: 500,
  failsThreshold: 3,
  passesThreshold: 1,
};

/**
 * Checkpoint workers run as the system image's `berth` user (10001:10001)
 * with every capability dropped: the worker reads two mounted files and
 * serves HTTP on an unprivileged port, so it needs nothing, and a notebook's
 * code gets nothing either.
 */
export const WORKER_SECURITY: ContainerSecurity = {
  user: '10001:10001',
  capAdd: [],
  capDrop: ['ALL'],
  readOnlyRootFilesystem: false,
  tmpfs: [],
};

export interface SpecSettings {
  /** The Python of process instances. */
  python: string;
  /** The worker script on this host. */
  workerPath: string;
  /** The image of checkpoint instances when neither the node nor its checkpoint names one. */
  systemImage: string;
  /** Finds a checkpoint and where its blob is on this host. */
  checkpoint(id: string): Promise<{ checkpoint: Checkpoint; blobPath: string }>;
  /** The current values of a secret of the folder, decrypted in memory; never kept, never logged. */
  secretValues(folderId: string, secretId: string): Promise<Record<string, string>>;
  /** The token a checkpoint instance's worker requires (see `worker-token.ts`). */
  workerToken(instanceId: string): string;
}

/** The container ports an instance of a Docker node publishes: endpoint, health check, telemetry. */
export function publishedPorts(src: DockerSource): number[] {
  return [...new Set([src.endpoint.port, src.healthCheck.port, ...(src.telemetry ? [src.telemetry.port] : [])])];
}

/**
 * How often a healthy checkpoint worker is probed. Its exit is seen at once
 * through the runtime's events, and a failing call takes it out of balancing,
 * so the probe only has to catch a worker that hangs: every 5 s keeps that
 * within 15 s while 200 idle nodes cost Berth almost nothing.
 */
const WORKER_HEALTHY_INTERVAL_MS = 5000;

/**
 * The probe interval of a healthy instance: for Docker nodes the one their
 * health check asks for; for checkpoint workers {@link WORKER_HEALTHY_INTERVAL_MS}
 * (a starting worker is probed more often: see {@link startingIntervalOf}).
 */
export function healthyIntervalOf(node: Node): number {
  return node.spec.source.kind === 'docker' ? node.spec.source.healthCheck.intervalMs : WORKER_HEALTHY_INTERVAL_MS;
}

/**
 * How long after Berth starts watching it a starting checkpoint worker is
 * probed at {@link WORKER_STARTING_INTERVAL_MS}: a worker restores its
 * checkpoint in a few hundred milliseconds, and a probe every 500 ms would
 * add up to half a second to every cold start.
 */
const WORKER_FAST_START_MS = 5000;
const WORKER_STARTING_INTERVAL_MS = 50;

/**
 * The probe interval of an instance that has not been healthy yet, `elapsedMs`
 * after Berth began watching it: for Docker nodes the one their health check
 * asks for; for checkpoint workers 50 ms for the first 5 s (a probe of a
 * worker that is not listening yet is a refused connection on loopback), then
 * 500 ms.
 */
export function startingIntervalOf(node: Node, elapsedMs: number): number {
  if (node.spec.source.kind === 'docker') return node.spec.source.healthCheck.intervalMs;
  return elapsedMs < WORKER_FAST_START_MS ? WORKER_STARTING_INTERVAL_MS : WORKER_HEALTH.intervalMs;
}

/** How Berth checks an instance of the node. */
export function healthCheckOf(node: Node): HealthCheck {
  return node.spec.source.kind === 'docker' ? node.spec.source.healthCheck : WORKER_HEALTH;
}

/** Headers Berth's own requests to an instance carry: a checkpoint worker's token; nothing for Docker nodes. */
export function instanceHeadersOf(node: Node, instanceId: string, workerToken: (instanceId: string) => string): Record<string, string> {
  return node.spec.source.kind === 'checkpoint' ? { authorization: workerAuthorization(workerToken(instanceId)) } : {};
}

/** The container port calls go to. */
export function endpointPortOf(node: Node): number {
  return node.spec.source.kind === 'docker' ? node.spec.source.endpoint.port : WORKER_PORT;
}

/** The image the node's instances run (the runtime ignores it when it runs processes). */
export async function imageOf(node: Node, settings: SpecSettings): Promise<string> {
  const src = node.spec.source;
  if (src.kind === 'docker') return src.image;
  if (src.environmentImage) return src.environmentImage;
  const { checkpoint } = await settings.checkpoint(src.checkpointId);
  return checkpointImageOf(src.environmentImage, checkpoint, settings.systemImage);
}

/**
 * The registry a Docker image reference names, as the engine's auth config
 * expects it: its first path component when that is a host (it has a dot or
 * a port, or is `localhost`), else Docker Hub.
 */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  return first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'https://index.docker.io/v1/';
}

/**
 * The credentials to pull a Docker node's image with: the entries `username`
 * and `password` (and `server`, by default the image's registry) of its
 * registry secret, opened now; undefined when the node names none.
 */
export async function registryAuthOf(node: Node, settings: SpecSettings): Promise<RegistryAuth | undefined> {
  const src = node.spec.source;
  if (src.kind !== 'docker' || src.registrySecretId === '') return undefined;
  const values = await settings.secretValues(node.folderId, src.registrySecretId);
  const { username, password, server } = values;
  if (username === undefined || password === undefined)
    throw new FailedPreconditionError(`registry secret ${src.registrySecretId} has no "username" or no "password" entry`, `secrets/${src.registrySecretId}`);
  return { username, password, serveraddress: server || registryOf(src.image) };
}

/**
 * The variables a Docker node sets from secrets (`env_from_secrets`), each
 * secret opened once. The reconciler also calls it when an attempt begins, so
 * that a secret that cannot be read fails the node with its reason.
 */
export async function secretEnvOf(node: Node, settings: SpecSettings): Promise<Record<string, string>> {
  const src = node.spec.source;
  const env: Record<string, string> = {};
  if (src.kind !== 'docker') return env;
  const opened = new Map<string, Record<string, string>>();
  for (const ref of src.envFromSecrets) {
    let values = opened.get(ref.secretId);
    if (!values) opened.set(ref.secretId, (values = await settings.secretValues(node.folderId, ref.secretId)));
    const value = values[ref.key];
    if (value === undefined)
      throw new FailedPreconditionError(`secret ${ref.secretId} has no entry ${JSON.stringify(ref.key)} for ${ref.envName}`, `secrets/${ref.secretId}`);
    env[ref.envName] = value;
  }
  return env;
}

/**
 * What the runtime needs to start one instance of a node. Secrets the node
 * uses are opened here, at each container's creation, into the spec alone.
 */
export async function instanceSpecOf(node: Node, instanceId: string, runtime: Runtime, settings: SpecSettings): Promise<InstanceSpec> {
  const base = {
    folderId: node.folderId,
    nodeId: node.id,
    instanceId,
    generation: node.generation,
    cpu: node.spec.configuration.cpu,
    memoryBytes: node.spec.configuration.memoryBytes,
    gpu: node.spec.configuration.gpu,
  };
  const src = node.spec.source;
  if (src.kind === 'docker') {
    const registryAuth = await registryAuthOf(node, settings);
    return {
      ...base,
      image: src.image,
      command: src.command,
      args: src.args,
      // Berth's own variables last: they win over the node's.
      env: { ...src.env, ...(await secretEnvOf(node, settings)), BERTH_NODE_ID: node.id, BERTH_INSTANCE_ID: instanceId, BERTH_FOLDER_ID: node.folderId },
      ports: publishedPorts(src),
      security: src.security,
      ...(registryAuth ? { registryAuth } : {}),
    };
  }
  const { checkpoint, blobPath } = await settings.checkpoint(src.checkpointId);
  const mounts = [
    { name: 'WORKER', source: settings.workerPath, target: '/berth/berth_worker.py' },
    { name: 'BLOB', source: blobPath, target: '/berth/checkpoint.blob' },
  ];
  const inProcess = runtime.kind === 'process';
  return {
    ...base,
    image: checkpointImageOf(src.environmentImage, checkpoint, settings.systemImage),
    command: inProcess
      ? [settings.python, '-u', '${BERTH_MOUNT_WORKER}', 'serve', '--blob', '${BERTH_MOUNT_BLOB}', '--port', `\${BERTH_PORT_${WORKER_PORT}}`, '--host', '127.0.0.1']
      : ['python3', '-u', '/berth/berth_worker.py', 'serve', '--blob', '/berth/checkpoint.blob', '--port', String(WORKER_PORT), '--host', '0.0.0.0'],
    args: [],
    env: {
      BERTH_NODE_ID: node.id,
      BERTH_INSTANCE_ID: instanceId,
      BERTH_FOLDER_ID: node.folderId,
      PYTHONUNBUFFERED: '1',
      [WORKER_TOKEN_ENV]: settings.workerToken(instanceId),
    },
    ports: [WORKER_PORT],
    mounts,
    security: WORKER_SECURITY,
  };
}
