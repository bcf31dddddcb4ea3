/** What the autoscaler remembers about a node between decisions (rebuilt from zero after a restart). */
export interface ScalingState {
  /** Since when the load has asked for fewer instances than run; null while it does not. */
  lowSince: number | null;
}

export interface ScalingInput {
  /** Instances the node aims at now. */
  current: number;
  min: number;
  max: number;
  /** Requests in flight per instance the node aims at. */
  target: number;
  /** Requests in flight (running and queued) on the node, averaged over the last sample window. */
  inFlight: number;
  /** How long the load must stay low before scaling down. */
  stabilizationMs: number;
  /** How long the node has had no call (none arrived, none in flight, none held). */
  idleMs: number;
  /** For a node with min 0: how long without calls before it sleeps (scales to zero). */
  sleepAfterMs: number;
  now: number;
  state: ScalingState;
}

export interface ScalingDecision {
  desired: number;
  state: ScalingState;
  /** Set when the decision changes the count: what and why, for the node's status and the log. */
  reason?: string;
}

/**
 * Scales on requests in flight per instance: up at once to what the load
 * needs, down only after the load has needed fewer instances for the whole
 * stabilization window, and never outside {min, max}.
 *
 * A node with min 0 keeps at least one instance while it has calls, and
 * sleeps (zero instances) only after a whole `sleepAfterMs` without any:
 * in-flight counts sampled now and then miss short calls, so they alone
 * never put a node to sleep. A sleeping node stays asleep until load
 * appears (a call wakes it; see AutoscalerTick.wake).
 */
export function decideScale(i: ScalingInput): ScalingDecision {
  const floor = i.min > 0 ? i.min : i.current > 0 && i.idleMs < i.sleepAfterMs ? 1 : 0;
  const clamp = (n: number) => Math.min(i.max, Math.max(floor, n));
  const current = Math.min(i.max, Math.max(i.min, i.current));
  const needed = clamp(Math.ceil(i.inFlight / i.target - 1e-9));
  const perInstance = (i.inFlight / Math.max(1, current)).toFixed(1);
  if (needed > current) {
    return {
      desired: needed,
      state: { lowSince: null },
      reason: `scaled up ${current} -> ${needed}: ${perInstance} in flight per instance > target ${i.target}`,
    };
  }
  if (needed === 0 && current > 0) {
    return { desired: 0, state: { lowSince: null }, reason: `asleep: scaled ${current} -> 0 after ${Math.round(i.sleepAfterMs / 1000)}s without calls` };
  }
  if (needed < current) {
    const lowSince = i.state.lowSince ?? i.now;
    if (i.now - lowSince >= i.stabilizationMs) {
      return {
        desired: needed,
        state: { lowSince: null },
        reason: `scaled down ${current} -> ${needed}: ${perInstance} in flight per instance for ${Math.round(i.stabilizationMs / 1000)}s, target ${i.target}`,
      };
    }
    return { desired: current, state: { lowSince } };
  }
  return { desired: current, state: { lowSince: null } };
}
