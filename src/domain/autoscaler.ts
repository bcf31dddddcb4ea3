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
 */
export function decideScale(i: ScalingInput): ScalingDecision {
  const clamp = (n: number) => Math.min(i.max, Math.max(i.min, n));
  const current = clamp(i.current);
  const needed = clamp(Math.ceil(i.inFlight / i.target - 1e-9));
  const perInstance = (i.inFlight / Math.max(1, current)).toFixed(1);
  if (needed > current) {
    return {
      desired: needed,
      state: { lowSince: null },
      reason: `scaled up ${current} -> ${needed}: ${perInstance} in flight per instance > target ${i.target}`,
    };
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
