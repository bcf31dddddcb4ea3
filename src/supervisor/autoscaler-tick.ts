import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { decideScale, type ScalingState } from '../domain/autoscaler';
import type { NodeSpec } from '../domain/node';
import type { Logger } from '../logger';
import type { Clock } from './clock';

interface Scaled {
  /** The count the autoscaler aims at. */
  desired: number;
  /** Recent load samples (the last three ticks). */
  samples: number[];
  state: ScalingState;
  spec: NodeSpec;
  decision?: { reason: string; time: Date };
}

/**
 * The autoscaler's clock tick: samples each node's load from memory (the data
 * plane's in-flight counts) and scales it within its instance range, waking
 * the node's pass only when the decision changes the count. It never reads
 * the database: the reconcile pass tells it each node's spec, and nodes whose
 * range allows one count only are not sampled at all.
 */
export class AutoscalerTick {
  private readonly nodes = new Map<string, Scaled>();
  private loadOf: (nodeId: string) => number = () => 0;
  /** Told of each decision that changes a node's count (metrics). */
  onDecision: (nodeId: string, direction: 'up' | 'down') => void = () => undefined;

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

  /**
   * The count a pass should aim at for the node. The first time, the count
   * the status last recorded (so a restart of Berth keeps the scale); a
   * lowered minimum is followed at once when the autoscaler only held the old one.
   */
  desiredFor(nodeId: string, spec: NodeSpec, recorded: number): number {
    let s = this.nodes.get(nodeId);
    if (!s) {
      s = { desired: recorded || spec.instanceRange.min, samples: [], state: { lowSince: null }, spec };
      this.nodes.set(nodeId, s);
    }
    const oldMin = s.spec.instanceRange.min;
    if (oldMin !== spec.instanceRange.min && s.desired === oldMin) s.desired = spec.instanceRange.min;
    s.spec = spec;
    return s.desired;
  }

  /** What the pass settled on (the planner clamps into the range). */
  settle(nodeId: string, desired: number): void {
    const s = this.nodes.get(nodeId);
    if (s) s.desired = desired;
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
      const { min, max } = s.spec.instanceRange;
      if (min === max) continue;
      s.samples.push(this.loadOf(nodeId));
      if (s.samples.length > 3) s.samples.shift();
      const d = decideScale({
        current: s.desired,
        min,
        max,
        target: s.spec.autoscaling.targetInFlight,
        inFlight: s.samples.reduce((a, b) => a + b, 0) / s.samples.length,
        stabilizationMs: s.spec.autoscaling.scaleDownStabilizationMs,
        now,
        state: s.state,
      });
      s.state = d.state;
      if (d.reason && d.desired !== s.desired) {
        this.onDecision(nodeId, d.desired > s.desired ? 'up' : 'down');
        s.desired = d.desired;
        s.decision = { reason: d.reason, time: new Date(now) };
        this.log.info({ nodeId, desired: d.desired, reason: d.reason }, 'autoscaling');
        this.events.record({ nodeId, reason: 'Scaled', message: `${d.desired} instance(s): ${d.reason}` });
        this.enqueue(nodeId);
      }
    }
  }
}
