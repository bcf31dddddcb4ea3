import type { Instance } from '../domain/instance';
import { defaultSecurity } from '../domain/container-security';
import { DEFAULTS, type Node, type NodeSpec } from '../domain/node';
import type { InstanceEntity } from './entities/instance.entity';
import type { NodeEntity } from './entities/node.entity';

/** A stored spec in today's shape: fields added since it was written get their empty value. */
function currentSpec(stored: NodeSpec): NodeSpec {
  let spec = typeof stored.configuration.name === 'string' ? stored : { ...stored, configuration: { ...stored.configuration, name: '' } };
  // Stored before nodes could sleep: the default window, as a node created now gets.
  if (typeof spec.autoscaling.scaleToZeroAfterMs !== 'number')
    spec = { ...spec, autoscaling: { ...spec.autoscaling, scaleToZeroAfterMs: DEFAULTS.scaleToZeroAfterMs } };
  const src = spec.source;
  if (src.kind !== 'docker' || (Array.isArray(src.envFromSecrets) && src.security)) return spec;
  return { ...spec, source: { ...src, envFromSecrets: src.envFromSecrets ?? [], security: src.security ?? defaultSecurity() } };
}

/** A node row as the domain sees it; shared by the API's and the supervisor's repositories. */
export function toNode(e: NodeEntity): Node {
  return {
    id: e.id,
    folderId: e.folderId,
    name: e.name,
    description: e.description,
    labels: e.labels,
    spec: currentSpec(e.spec),
    generation: e.generation,
    suspended: e.suspended,
    deleting: e.deleting,
    createTime: e.createTime,
    updateTime: e.updateTime,
    version: e.version,
  };
}

/** An instance row as the domain sees it. */
export function toInstance(e: InstanceEntity): Instance {
  return {
    id: e.id,
    nodeId: e.nodeId,
    folderId: e.folderId,
    generation: e.generation,
    state: e.state,
    reason: e.reason,
    runtimeId: e.runtimeId,
    address: e.address,
    startTime: e.startTime,
    restartCount: e.restartCount,
    lastHealthCheck: e.lastHealthCheck ? { ...e.lastHealthCheck, time: new Date(e.lastHealthCheck.time) } : null,
    createTime: e.createTime,
    updateTime: e.updateTime,
  };
}
