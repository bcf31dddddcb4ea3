import type Dockerode from 'dockerode';
import { defaultSecurity, type ContainerSecurity } from '../../domain/container-security';
import type { InstanceSpec } from '../runtime';
import { containerName, instanceLabels } from './labels';

/** Where and how the container is attached; decided by the runtime, not the spec. */
export interface Placement {
  /** The id of the node's network. */
  networkId: string;
  /** The host address published ports are bound to (loopback by default). */
  hostIp: string;
  runId?: string;
}

/** The key Docker uses for a TCP port in ExposedPorts, PortBindings and NetworkSettings. */
export function portKey(port: number): string {
  return `${port}/tcp`;
}

/**
 * The values of the placeholders a spec may use so that one command line
 * works on every runtime (see InstanceSpec.ports and InstanceSpec.mounts).
 * In a container a port is the container port itself and a mount is at its
 * target.
 */
export function placeholderValues(spec: InstanceSpec): Record<string, string> {
  const values: Record<string, string> = {};
  for (const port of spec.ports) values[`BERTH_PORT_${port}`] = String(port);
  for (const mount of spec.mounts ?? []) values[`BERTH_MOUNT_${mount.name}`] = mount.target;
  return values;
}

/** Replaces `${BERTH_PORT_<port>}` and `${BERTH_MOUNT_<name>}`; anything else is left for the process. */
export function expandPlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(BERTH_(?:PORT|MOUNT)_\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * The environment an instance gets: the spec's, the placeholder values, and
 * its identity under `BERTH_FOLDER_ID`, `BERTH_NODE_ID` and
 * `BERTH_INSTANCE_ID` so that a process can tell which instance it is (in
 * logs, metrics, answers). What the runtime sets wins over the spec.
 */
export function instanceEnv(spec: InstanceSpec): string[] {
  const env: Record<string, string> = {
    ...spec.env,
    ...placeholderValues(spec),
    BERTH_FOLDER_ID: spec.folderId,
    BERTH_NODE_ID: spec.nodeId,
    BERTH_INSTANCE_ID: spec.instanceId,
  };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/**
 * Processes (threads count too) one container may run. Far above what a
 * server needs (a JVM or a Python server with thread pools runs hundreds),
 * far below the host's own limit (32768 PIDs on many kernels): a fork bomb
 * or a thread leak in one instance stops there instead of starving the host
 * and every other node of PIDs.
 */
export const PIDS_LIMIT = 4096;

/**
 * The capabilities a container runs with: Docker's defaults minus NET_RAW
 * (which only ping and packet sniffing need, and which lets a container
 * spoof traffic on its network) and minus what the spec drops, plus what it
 * adds; with `ALL` dropped, only what it adds.
 */
export function capabilitySets(security: ContainerSecurity): { CapAdd?: string[]; CapDrop: string[] } {
  const add = security.capAdd;
  const drop = security.capDrop.includes('ALL')
    ? ['ALL']
    : [...new Set(['NET_RAW', ...security.capDrop])].filter((cap) => !add.includes(cap));
  return { ...(add.length > 0 ? { CapAdd: [...add] } : {}), CapDrop: drop };
}

/**
 * Docker's tmpfs options (the options of `--tmpfs`): writable, no setuid
 * programs, no devices, nothing executed from it, and a size limit.
 */
export function tmpfsOptions(security: ContainerSecurity): Record<string, string> | undefined {
  if (security.tmpfs.length === 0) return undefined;
  return Object.fromEntries(security.tmpfs.map((m) => [m.path, `rw,nosuid,nodev,noexec,size=${m.sizeBytes}`]));
}

/**
 * The Docker create request for one instance. Instances run without
 * privileges: Docker's default capabilities minus NET_RAW, as the spec
 * changes them (see {@link capabilitySets}), no privilege escalation
 * (`no-new-privileges`: setuid programs gain nothing), at most
 * {@link PIDS_LIMIT} processes, the node's CPU and memory limits, its GPUs
 * (NVIDIA device requests), on the node's own network, with ports published
 * on loopback only and host files mounted read-only. Nothing in a spec can
 * make a container privileged, mount a host directory or join the host's
 * network. Docker never restarts them, because replacing failed instances is
 * the supervisor's decision.
 */
export function containerCreateOptions(spec: InstanceSpec, placement: Placement): Dockerode.ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of spec.ports) {
    exposedPorts[portKey(port)] = {};
    // An empty HostPort lets Docker pick a free port; it is read back by inspect.
    portBindings[portKey(port)] = [{ HostIp: placement.hostIp, HostPort: '' }];
  }

  const security = spec.security ?? defaultSecurity();
  const tmpfs = tmpfsOptions(security);
  const hostConfig: Dockerode.HostConfig = {
    NetworkMode: placement.networkId,
    PortBindings: portBindings,
    Privileged: false,
    ...capabilitySets(security),
    SecurityOpt: ['no-new-privileges'],
    PidsLimit: PIDS_LIMIT,
    ReadonlyRootfs: security.readOnlyRootFilesystem,
    ...(tmpfs ? { Tmpfs: tmpfs } : {}),
    RestartPolicy: { Name: 'no' },
    Mounts: (spec.mounts ?? []).map((m) => ({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: true })),
  };
  if ((spec.gpu ?? 0) > 0) hostConfig.DeviceRequests = [{ Driver: 'nvidia', Count: spec.gpu, Capabilities: [['gpu']] }];
  if (spec.cpu > 0) hostConfig.NanoCpus = Math.round(spec.cpu * 1e9);
  if (spec.memoryBytes > 0) {
    hostConfig.Memory = spec.memoryBytes;
    // Equal to Memory: no swap on top, so the limit means what it says and an
    // instance over it is OOM-killed instead of crawling.
    hostConfig.MemorySwap = spec.memoryBytes;
  }

  const values = placeholderValues(spec);
  const expand = (list: string[]): string[] => list.map((item) => expandPlaceholders(item, values));
  return {
    name: containerName(spec.nodeId, spec.instanceId),
    Image: spec.image,
    ...(security.user !== '' ? { User: security.user } : {}),
    ...(spec.command.length > 0 ? { Entrypoint: expand(spec.command) } : {}),
    ...(spec.args.length > 0 ? { Cmd: expand(spec.args) } : {}),
    Env: instanceEnv(spec),
    Labels: instanceLabels(spec, placement.runId),
    ExposedPorts: exposedPorts,
    HostConfig: hostConfig,
  };
}
