import type { Instance } from '../domain/instance';
import type { Node } from '../domain/node';
import type { NodeRoute } from '../gateway/routing-table';

/**
 * The routing table entry of a node: its healthy instances (of a generation
 * the node still serves) at their loopback addresses. Only these get traffic.
 * A node whose generation failed to start does not sleep: a call would wake
 * nothing, so it is refused at once rather than held.
 */
export function routeOf(node: Node, instances: Instance[], failed = false): NodeRoute {
  const src = node.spec.source;
  const backends = instances
    .filter((i) => i.state === 'healthy' && i.address && i.generation <= node.generation)
    .map((i) => {
      const at = i.address.lastIndexOf(':');
      return { instanceId: i.id, host: i.address.slice(0, at), port: Number(i.address.slice(at + 1)) };
    });
  return {
    nodeId: node.id,
    folderId: node.folderId,
    kind: src.kind,
    endpointType: src.kind === 'docker' ? src.endpoint.type : 'http',
    timeoutMs: src.kind === 'docker' ? src.endpoint.timeoutMs : 0,
    idleTimeoutMs: src.kind === 'docker' ? src.endpoint.idleTimeoutMs : 0,
    backends,
    maySleep: node.spec.instanceRange.min === 0 && !node.suspended && !node.deleting && !failed,
    ...(src.kind === 'checkpoint' ? { checkpoint: src } : {}),
  };
}
