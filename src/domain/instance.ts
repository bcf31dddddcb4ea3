import type { InstanceState } from './node';

/** One instance as the supervisor records it in the database. */
export interface Instance {
  id: string;
  nodeId: string;
  folderId: string;
  generation: number;
  state: InstanceState;
  reason: string;
  runtimeId: string;
  /** host:port of the endpoint on loopback; empty until started. */
  address: string;
  startTime: Date | null;
  restartCount: number;
  lastHealthCheck: { passed: boolean; reason: string; time: Date } | null;
  createTime: Date;
  updateTime: Date;
}

/** Consecutive probe results of one instance. */
export interface HealthCounters {
  passes: number;
  fails: number;
}

export interface Thresholds {
  failsThreshold: number;
  passesThreshold: number;
}

/**
 * The instance state machine's health edges: `passes_threshold` passes in a
 * row make a preparing or unhealthy instance healthy; `fails_threshold`
 * failures in a row make a healthy one unhealthy. Other states do not move on
 * probes. Pure, so the thresholds are tested exactly.
 */
export function afterProbe(
  state: InstanceState,
  counters: HealthCounters,
  passed: boolean,
  t: Thresholds,
): { state: InstanceState; counters: HealthCounters } {
  const next = passed ? { passes: counters.passes + 1, fails: 0 } : { passes: 0, fails: counters.fails + 1 };
  let s = state;
  if (state === 'started') s = 'preparing';
  if ((s === 'preparing' || s === 'unhealthy') && next.passes >= t.passesThreshold) s = 'healthy';
  else if (s === 'healthy' && next.fails >= t.failsThreshold) s = 'unhealthy';
  return { state: s, counters: next };
}
