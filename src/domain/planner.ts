import type { Instance } from './instance';
import type { Node } from './node';

/** What the runtime says about one instance, reduced to what planning needs. */
export interface ObservedSummary {
  /** Running, exited (or never started), or gone from the engine. */
  state: 'running' | 'exited' | 'missing';
  exitReason?: string;
}

export type Step =
  | { kind: 'create'; generation: number }
  /** Start (or start again) the instance's container: it has none or it died. */
  | { kind: 'restart'; instanceId: string; reason: string }
  | { kind: 'remove'; instanceId: string; reason: string };

export interface PlanInput {
  node: Node;
  /** How many instances the node should run now (autoscaler's choice, clamped by the planner). */
  desired: number;
  /** Whether the node's current generation failed to start and waits for a spec change. */
  failed: boolean;
  instances: Instance[];
  observed: Map<string, ObservedSummary>;
  /** Instances unhealthy for longer than the node tolerates, with the last probe's reason. */
  stuck: Map<string, string>;
}

export interface Plan {
  desired: number;
  steps: Step[];
}

const SERVING_ORDER: Record<string, number> = { healthy: 0, unhealthy: 1, preparing: 2, started: 3, created: 4, undefined: 5, deleting: 6 };

/**
 * Plans one reconcile pass of a node, level-triggered: from desired state and
 * what exists, the idempotent steps that move the one towards the other.
 * Rollouts surge: new-generation instances are created first, old ones are
 * removed only once enough new ones serve, never more than the maintenance
 * limit starting at once.
 */
export function planNode(input: PlanInput): Plan {
  const { node } = input;
  const range = node.spec.instanceRange;
  const desired = node.deleting || node.suspended || input.failed ? 0 : Math.min(range.max, Math.max(range.min, input.desired));
  const steps: Step[] = [];
  const live = input.instances.filter((i) => i.state !== 'deleting');
  const removing = new Set<string>();
  const remove = (i: Instance, reason: string): void => {
    if (removing.has(i.id)) return;
    removing.add(i.id);
    steps.push({ kind: 'remove', instanceId: i.id, reason });
  };

  // Instances being deleted: finish the job (idempotent).
  for (const i of input.instances) if (i.state === 'deleting') steps.push({ kind: 'remove', instanceId: i.id, reason: i.reason || 'being deleted' });

  if (desired === 0) {
    for (const i of live) {
      // A rollout whose generation failed leaves the old generation serving.
      if (input.failed && !node.deleting && !node.suspended && i.generation !== node.generation && i.state === 'healthy') continue;
      remove(i, node.deleting ? 'node deleted' : node.suspended ? 'node suspended' : 'node failed to start');
    }
    return { desired, steps };
  }

  const current = live.filter((i) => i.generation === node.generation);
  const outdated = live.filter((i) => i.generation !== node.generation);
  const limit = node.spec.maintenanceLimit;

  // Dead or long-unhealthy instances of the current generation are started again in place,
  // at most `limit` at once among those not serving.
  let starting = current.filter((i) => ['undefined', 'created', 'started', 'preparing'].includes(i.state)).length;
  for (const i of current) {
    const obs = input.observed.get(i.id);
    if (obs?.state !== 'running') {
      // Not running: never started (the intent row of a create that was interrupted), created but
      // not started, exited, or gone. Starting it is idempotent by instance id.
      const reason =
        i.state === 'undefined' && !obs ? 'not started yet' : obs?.exitReason ? `exited: ${obs.exitReason}` : obs ? 'it is not running' : 'its container is gone';
      steps.push({ kind: 'restart', instanceId: i.id, reason });
      continue;
    }
    const stuck = i.state === 'unhealthy' ? input.stuck.get(i.id) : undefined;
    if (stuck !== undefined && starting < limit) {
      starting++;
      steps.push({ kind: 'restart', instanceId: i.id, reason: `stayed unhealthy: ${stuck}` });
    }
  }

  if (current.length < desired) {
    // During a rollout, surge at most `limit` new instances that are not serving yet.
    const budget = outdated.length > 0 ? Math.max(0, limit - starting) : desired - current.length;
    for (let n = 0; n < Math.min(desired - current.length, budget); n++) steps.push({ kind: 'create', generation: node.generation });
  } else if (current.length > desired) {
    const extra = [...current].sort((a, b) => SERVING_ORDER[b.state]! - SERVING_ORDER[a.state]! || b.id.localeCompare(a.id));
    for (const i of extra.slice(0, current.length - desired)) remove(i, `scaled down to ${desired}`);
  }

  // Old generations go once the new one serves: unhealthy ones at once, healthy ones while
  // enough instances stay healthy.
  const healthyCurrent = current.filter((i) => i.state === 'healthy' && !removing.has(i.id)).length;
  let healthyTotal = healthyCurrent + outdated.filter((i) => i.state === 'healthy').length;
  for (const i of [...outdated].sort((a, b) => SERVING_ORDER[b.state]! - SERVING_ORDER[a.state]!)) {
    if (i.state !== 'healthy') {
      if (healthyCurrent > 0 || current.length >= desired) remove(i, `replaced by generation ${node.generation}`);
    } else if (healthyTotal - 1 >= desired || healthyCurrent >= desired) {
      remove(i, `replaced by generation ${node.generation}`);
      healthyTotal--;
    }
  }
  return { desired, steps };
}

/**
 * A plan's steps grouped in the order they run: consecutive starts (creates
 * and restarts, each of an instance of its own) form one group that runs at
 * once, so that instances that died together come back in the time of one
 * start, not one after another; every removal is a group of its own.
 */
export function stepGroups(steps: Step[]): Step[][] {
  const groups: Step[][] = [];
  for (const step of steps) {
    const last = groups.at(-1);
    if (step.kind !== 'remove' && last && last[0]!.kind !== 'remove') last.push(step);
    else groups.push([step]);
  }
  return groups;
}
