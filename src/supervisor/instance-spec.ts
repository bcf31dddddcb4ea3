import type { Checkpoint } from '../domain/checkpoint';
import { WORKER_TOKEN_ENV, workerAuthorization } from '../checkpoint/worker-token';
import type { DockerSource, HealthCheck, Node } from '../domain/node';
import type { InstanceSpec, Runtime } from '../runtime/runtime';

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

export interface SpecSettings {
  /** The Python of process instances. */
  python: string;
  /** The worker script on this host. */
  workerPath: string;
  /** The image of checkpoint instances without an environment image of their own. */
  systemImage: string;
  /** Finds a checkpoint and where its blob is on this host. */
  checkpoint(id: string): Promise<{ checkpoint: Checkpoint; blobPath: string }>;
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
 * (a starting worker is probed every 500 ms, to join balancing as soon as it can).
 */
export function healthyIntervalOf(node: Node): number {
  return node.spec.source.kind === 'docker' ? node.spec.source.healthCheck.intervalMs : WORKER_HEALTHY_INTERVAL_MS;
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
export function imageOf(node: Node, settings: SpecSettings): string {
  const src = node.spec.source;
  return src.kind === 'docker' ? src.image : src.environmentImage || settings.systemImage;
}

/** What the runtime needs to start one instance of a node. */
export async function instanceSpecOf(node: Node, instanceId: string, runtime: Runtime, settings: SpecSettings): Promise<InstanceSpec> {
  const base = {
    folderId: node.folderId,
    nodeId: node.id,
    instanceId,
    generation: node.generation,
    cpu: node.spec.configuration.cpu,
    memoryBytes: node.spec.configuration.memoryBytes,
  };
  const src = node.spec.source;
  if (src.kind === 'docker') {
    return {
      ...base,
      image: src.image,
      command: src.command,
      args: src.args,
      env: { ...src.env, BERTH_NODE_ID: node.id, BERTH_INSTANCE_ID: instanceId, BERTH_FOLDER_ID: node.folderId },
      ports: publishedPorts(src),
    };
  }
  const { blobPath } = await settings.checkpoint(src.checkpointId);
  const mounts = [
    { name: 'WORKER', source: settings.workerPath, target: '/berth/berth_worker.py' },
    { name: 'BLOB', source: blobPath, target: '/berth/checkpoint.blob' },
  ];
  const inProcess = runtime.kind === 'process';
  return {
    ...base,
    image: imageOf(node, settings),
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
  };
}
