import type { Instance } from './instance';
import { emptyInstanceCounts, type Condition, type Node, type NodeStatus } from './node';

export interface StatusInput {
  node: Node;
  instances: Instance[];
  previous: NodeStatus;
  desired: number;
  now: Date;
  /** Why the current generation could not start, when it could not. */
  failure?: string;
}

function condition(previous: NodeStatus, type: string, status: boolean, reason: string, message: string, now: Date): Condition {
  const before = previous.conditions.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? new Date(before.lastTransitionTime) : now;
  return { type, status, reason, message, lastTransitionTime };
}

/**
 * The node status follows the count of healthy instances against the
 * required minimum; every state carries a reason a person understands.
 */
export function nodeStatusOf(input: StatusInput): NodeStatus {
  const { node, instances, previous, now } = input;
  const counts = emptyInstanceCounts();
  for (const i of instances) counts[i.state]++;
  const min = node.spec.instanceRange.min;
  const healthy = counts.healthy;
  const live = instances.length;
  let state: NodeStatus['state'];
  let reason: string;
  if (node.deleting) {
    state = 'deleting';
    reason = live > 0 ? `removing ${live} instance${live === 1 ? '' : 's'}` : 'removing the node';
  } else if (node.suspended) {
    state = 'suspended';
    reason = live > 0 ? `stopping ${live} instance${live === 1 ? '' : 's'}` : 'suspended: no instances run, the spec is kept';
  } else if (input.failure) {
    state = 'unhealthy';
    reason = input.failure;
  } else if (healthy >= min) {
    state = 'healthy';
    reason = `${healthy} healthy instance${healthy === 1 ? '' : 's'} (minimum ${min})`;
  } else {
    state = previous.timeToHealthyMs === null ? 'created' : 'unhealthy';
    const unhealthyReasons = instances.filter((i) => i.state === 'unhealthy' && i.reason).map((i) => `${i.id}: ${i.reason}`);
    reason = `${healthy} of ${min} required instances healthy` + (unhealthyReasons.length > 0 ? `; ${unhealthyReasons.slice(0, 3).join('; ')}` : '');
  }
  const rolling = instances.some((i) => i.generation !== node.generation);
  const timeToHealthyMs =
    previous.timeToHealthyMs ?? (state === 'healthy' && healthy > 0 ? now.getTime() - new Date(node.createTime).getTime() : null);
  return {
    ...previous,
    state,
    reason,
    instanceCounts: counts,
    desiredInstances: input.desired,
    observedGeneration: node.generation,
    timeToHealthyMs,
    conditions: [
      condition(previous, 'Ready', state === 'healthy', state === 'healthy' ? 'MinimumHealthy' : `Node${state[0]!.toUpperCase()}${state.slice(1)}`, reason, now),
      condition(previous, 'Progressing', rolling, rolling ? 'RollingUpdate' : 'Stable', rolling ? `replacing instances with generation ${node.generation}` : `all instances run generation ${node.generation}`, now),
    ],
  };
}
