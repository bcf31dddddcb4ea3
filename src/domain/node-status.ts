import type { Instance } from './instance';
import { emptyInstanceCounts, type Condition, type Node, type NodeStatus, type StartAttempt } from './node';

export interface StatusInput {
  node: Node;
  instances: Instance[];
  previous: NodeStatus;
  desired: number;
  now: Date;
  /** Why the current generation could not start, when it could not. */
  failure?: string;
  /** How instances of the current generation exited without becoming healthy, when some did (see `crash-report.ts`). */
  crashing?: string;
}

function condition(previous: NodeStatus, type: string, status: boolean, reason: string, message: string, now: Date): Condition {
  const before = previous.conditions.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? new Date(before.lastTransitionTime) : now;
  return { type, status, reason, message, lastTransitionTime };
}

/**
 * `InstancesCrashing`: true (reason `CrashLoop`) while live instances of the
 * current generation exit without becoming healthy, the message naming the
 * exit code and last output. A generation that failed keeps the condition
 * it failed with, though its instances are gone.
 */
function crashCondition(input: StatusInput): Condition {
  const { previous, now } = input;
  if (input.crashing) return condition(previous, 'InstancesCrashing', true, 'CrashLoop', input.crashing, now);
  const before = previous.conditions.find((c) => c.type === 'InstancesCrashing');
  if (input.failure && before?.status) return { ...before, lastTransitionTime: new Date(before.lastTransitionTime) };
  return condition(previous, 'InstancesCrashing', false, 'NoCrashes', `no instance of generation ${input.node.generation} exited without becoming healthy`, now);
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
    if (min === 0 && healthy === 0) reason = sleepReason(node, input.desired, live);
  } else {
    state = previous.timeToHealthyMs === null ? 'created' : 'unhealthy';
    const unhealthyReasons = instances.filter((i) => i.state === 'unhealthy' && i.reason).map((i) => `${i.id}: ${i.reason}`);
    reason = `${healthy} of ${min} required instances healthy` + (unhealthyReasons.length > 0 ? `; ${unhealthyReasons.slice(0, 3).join('; ')}` : '');
  }
  const rolling = instances.some((i) => i.generation !== node.generation);
  const asleep = state === 'healthy' && min === 0 && input.desired === 0;
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
      condition(previous, 'Ready', state === 'healthy', state === 'healthy' ? (asleep ? 'Asleep' : 'MinimumHealthy') : `Node${state[0]!.toUpperCase()}${state.slice(1)}`, reason, now),
      condition(previous, 'Progressing', rolling, rolling ? 'RollingUpdate' : 'Stable', rolling ? `replacing instances with generation ${node.generation}` : `all instances run generation ${node.generation}`, now),
      crashCondition(input),
      ...(min === 0 ? [sleepCondition(input, asleep, healthy)] : []),
    ],
  };
}

/** A node with min 0 and no healthy instance: asleep (a call wakes it), falling asleep, or waking. */
function sleepReason(node: StatusInput['node'], desired: number, live: number): string {
  const window = `${Math.round(node.spec.autoscaling.scaleToZeroAfterMs / 1000)}s`;
  if (desired > 0) return `waking: starting ${desired} instance${desired === 1 ? '' : 's'} for the calls that came; they are held until one serves`;
  if (live > 0) return `falling asleep: stopping ${live} instance${live === 1 ? '' : 's'} after ${window} without calls`;
  return `asleep: no instance runs; the next call wakes it (the node sleeps after ${window} without calls)`;
}

/**
 * `Asleep` (nodes with min 0 only): true (reason `ScaledToZero`) while the
 * node runs no instance by choice; false with reason `Waking` while a call's
 * wake starts one, `Awake` otherwise. A sleeping node is not failing: its
 * state stays HEALTHY and `Ready` stays true.
 */
function sleepCondition(input: StatusInput, asleep: boolean, healthy: number): Condition {
  const { previous, now } = input;
  if (asleep) return condition(previous, 'Asleep', true, 'ScaledToZero', 'no instance runs; the next call wakes the node', now);
  if (healthy === 0 && input.desired > 0) return condition(previous, 'Asleep', false, 'Waking', 'a call woke the node; its first instance is starting', now);
  return condition(previous, 'Asleep', false, 'Awake', `${healthy} healthy instance${healthy === 1 ? '' : 's'} ${healthy === 1 ? 'serves' : 'serve'} calls`, now);
}

/**
 * The attempt a pass works under: the stored one while it still applies,
 * else a new one from `now` — for a new generation, or for a ResumeNode
 * asked after the stored attempt began. None while suspended or deleted.
 */
export function startAttemptOf(node: Node, previous: NodeStatus, now: Date, resumeAskedAt?: Date): StartAttempt | null {
  if (node.suspended || node.deleting) return null;
  const a = previous.attempt;
  if (a && a.generation === node.generation && !(resumeAskedAt && resumeAskedAt.getTime() > new Date(a.since).getTime())) {
    return { generation: a.generation, since: new Date(a.since), reached: a.reached };
  }
  return { generation: node.generation, since: now, reached: false };
}

/** Whether an attempt has run out of time without the node becoming healthy. */
export function attemptTimedOut(attempt: StartAttempt | null, now: Date, startupTimeoutMs: number): boolean {
  return attempt !== null && !attempt.reached && now.getTime() - attempt.since.getTime() > startupTimeoutMs;
}

/** How long until an attempt times out; undefined when it cannot any more. */
export function attemptDeadlineMs(attempt: StartAttempt | null, now: Date, startupTimeoutMs: number): number | undefined {
  if (!attempt || attempt.reached) return undefined;
  return Math.max(0, attempt.since.getTime() + startupTimeoutMs - now.getTime());
}
