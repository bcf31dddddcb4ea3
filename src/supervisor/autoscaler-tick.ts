import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { decideScale, type ScalingState } from '../domain/autoscaler';
import type { NodeSpec } from '../domain/node';
import type { Logger } from '../logger';
import type { Clock } from './clock';

/** What the data plane says of a node's calls, besides its load. */
export interface CallActivity {
  /** Calls to the node so far: any change means calls came. */
  calls: number;
  /** Calls held right now while the node wakes. */
  held: number;
}

interface Scaled {
  /** The count the autoscaler aims at. */
  desired: number;
  /** Recent load samples (the last three ticks). */
  samples: number[];
  state: ScalingState;
  /** Unknown until the node's pass tells it (a call may wake a node before its first pass). */
  spec: NodeSpec | undefined;
  decision?: { reason: string; time: Date };
  /** The data plane's call count when last sampled. */
  calls: number;
  /** When the node last had a call (or woke, or was first seen): a node with min 0 sleeps a window after it. */
  activeAt: number;
  /** Since when a call's wake has been starting an instance; cleared once one serves or the node sleeps again. */
  wakingSince?: number;
}

/**
 * The autoscaler's clock tick: samples each node's load from memory (the data
 * plane's in-flight counts) and scales it within its instance range, waking
 * the node's pass only when the decision changes the count. It never reads
 * the database: the reconcile pass tells it each node's spec, and nodes whose
 * range allows one count only are not sampled at all.
 *
 * A node with min 0 sleeps after its idle window without calls, and a call
 * to a sleeping node wakes it ({@link wake}): one instance, however many
 * calls wait, and the in-flight load scales it further once that serves.
 */
export class AutoscalerTick {
  private readonly nodes = new Map<string, Scaled>();
  private loadOf: (nodeId: string) => number = () => 0;
  private activityOf: (nodeId: string) => CallActivity = () => ({ calls: 0, held: 0 });
  /** Told of each decision that changes a node's count (metrics). */
  onDecision: (nodeId: string, direction: 'up' | 'down') => void = () => undefined;
  /** Told of each wake that ended with an instance serving, and how long it took (metrics). */
  onWoke: (nodeId: string, seconds: number) => void = () => undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly enqueue: (nodeId: string) => void,
    private readonly events: NodeEventSink = NO_EVENTS,
  ) {}

  /** Gives the autoscaler its load signal: requests in flight (running and queued) on a node right now. */
  measureLoadWith(loadOf: (nodeId: string) => number): void {
    this.loadOf = loadOf;
  }

  /** Gives the autoscaler its idleness signal: the calls a node got, and those held while it wakes. */
  watchCallsWith(activityOf: (nodeId: string) => CallActivity): void {
    this.activityOf = activityOf;
  }

  private entry(nodeId: string, desired: number, spec: NodeSpec | undefined): Scaled {
    const s: Scaled = { desired, samples: [], state: { lowSince: null }, spec, calls: this.activityOf(nodeId).calls, activeAt: this.clock.now() };
    this.nodes.set(nodeId, s);
    return s;
  }

  /**
   * The count a pass should aim at for the node. The first time, the count
   * the status last recorded (so a restart of Berth keeps the scale); a
   * lowered minimum is followed at once when the autoscaler only held the
   * old one (down to one instance when it becomes 0: the node sleeps only
   * after its idle window).
   */
  desiredFor(nodeId: string, spec: NodeSpec, recorded: number): number {
    const s = this.nodes.get(nodeId) ?? this.entry(nodeId, recorded || spec.instanceRange.min, spec);
    const oldMin = (s.spec ?? spec).instanceRange.min;
    if (oldMin !== spec.instanceRange.min && s.desired === oldMin) {
      s.desired = Math.max(spec.instanceRange.min, Math.min(1, s.desired));
      s.activeAt = this.clock.now();
    }
    s.spec = spec;
    return s.desired;
  }

  /**
   * What the pass settled on (the planner clamps into the range), unless the
   * count changed while the pass ran (a call woke the node, a tick scaled
   * it): then the newer count stands, and the pass that follows applies it.
   */
  settle(nodeId: string, asked: number, desired: number): void {
    const s = this.nodes.get(nodeId);
    if (s && s.desired === asked) s.desired = desired;
  }

  /**
   * A call found the node without a healthy instance and may wait for one:
   * a sleeping node is asked for one instance (once: calls that come while
   * it wakes share the wake), and the idle window starts again.
   */
  wake(nodeId: string): void {
    const now = this.clock.now();
    const s = this.nodes.get(nodeId) ?? this.entry(nodeId, 0, undefined);
    s.activeAt = now;
    if (s.desired > 0) return;
    const reason = 'woken by a call: 0 -> 1';
    s.desired = 1;
    s.state = { lowSince: null };
    s.wakingSince = now;
    s.decision = { reason, time: new Date(now) };
    this.onDecision(nodeId, 'up');
    this.log.info({ nodeId, desired: 1, reason }, 'autoscaling');
    this.events.record({ nodeId, reason: 'Woken', message: 'a call woke the node: starting 1 instance; calls are held until it serves' });
    this.enqueue(nodeId);
  }

  /** The node serves: how long its wake took, from the call that woke it (undefined when it was not waking). */
  woke(nodeId: string): number | undefined {
    const s = this.nodes.get(nodeId);
    if (s?.wakingSince === undefined) return undefined;
    const ms = this.clock.now() - s.wakingSince;
    s.wakingSince = undefined;
    this.onWoke(nodeId, ms / 1000);
    this.log.info({ nodeId, wakeMs: ms }, 'woke');
    this.events.record({ nodeId, reason: 'Awake', message: `an instance serves ${(ms / 1000).toFixed(2)}s after the call that woke the node` });
    return ms;
  }

  lastDecision(nodeId: string): { reason: string; time: Date } | undefined {
    return this.nodes.get(nodeId)?.decision;
  }

  forget(nodeId: string): void {
    this.nodes.delete(nodeId);
  }

  clear(): void {
    this.nodes.clear();
  }

  tick(): void {
    const now = this.clock.now();
    for (const [nodeId, s] of this.nodes) {
      if (!s.spec) continue;
      const { min, max } = s.spec.instanceRange;
      if (min === max) continue;
      const load = this.loadOf(nodeId);
      s.samples.push(load);
      if (s.samples.length > 3) s.samples.shift();
      if (min === 0) {
        const activity = this.activityOf(nodeId);
        if (activity.calls !== s.calls || activity.held > 0 || load > 0) s.activeAt = now;
        s.calls = activity.calls;
      }
      const d = decideScale({
        current: s.desired,
        min,
        max,
        target: s.spec.autoscaling.targetInFlight,
        inFlight: s.samples.reduce((a, b) => a + b, 0) / s.samples.length,
        stabilizationMs: s.spec.autoscaling.scaleDownStabilizationMs,
        idleMs: now - s.activeAt,
        sleepAfterMs: s.spec.autoscaling.scaleToZeroAfterMs,
        now,
        state: s.state,
      });
      s.state = d.state;
      if (d.reason && d.desired !== s.desired) {
        this.onDecision(nodeId, d.desired > s.desired ? 'up' : 'down');
        if (d.desired === 0) s.wakingSince = undefined;
        s.desired = d.desired;
        s.decision = { reason: d.reason, time: new Date(now) };
        this.log.info({ nodeId, desired: d.desired, reason: d.reason }, 'autoscaling');
        this.events.record({ nodeId, reason: d.desired === 0 ? 'Asleep' : 'Scaled', message: `${d.desired} instance(s): ${d.reason}` });
        this.enqueue(nodeId);
      }
    }
  }
}
