/**
 * Exponential backoff, as Berth uses it for failed reconcile passes and for
 * instances that keep exiting: the first retry after `baseMs`, each next one
 * after twice as long, never longer than `maxMs`.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** 0.5 s, 1 s, 2 s, … 30 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/** The delay before retry number `failures` (1 = the first retry). */
export function backoffDelayMs(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  // 2^30 already exceeds any sensible cap; the exponent is bounded so the maths stays finite.
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(30, failures - 1));
}

/** What the supervisor remembers about an instance that keeps dying. */
export interface CrashLoop {
  /** Deaths since the instance last stayed healthy long enough. */
  failures: number;
  /** When its death since that start was first seen (ms); unset while it is not known dead. */
  diedAtMs?: number;
}

export interface RestartDecision {
  /** Restart now, or wait `waitMs` more. */
  waitMs: number;
  /** The loop after counting this death (only counted once, when the restart happens). */
  failures: number;
}

/**
 * When an instance that died may start again. Restart n waits
 * backoffDelayMs(n) from the death, so an instance that exits at once is
 * started again 0.5 s, 1 s, 2 s, … 30 s after each exit (as Kubernetes'
 * CrashLoopBackOff does). One that had stayed healthy for `resetAfterMs`
 * (`healthyForMs`: its last healthy stretch) starts a new count: its death is
 * news, not a loop, and it restarts at once. With no record (Berth itself
 * restarted), the instance restarts at once.
 */
export function crashLoopRestart(
  loop: CrashLoop | undefined,
  nowMs: number,
  healthyForMs: number,
  resetAfterMs: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): RestartDecision {
  if (!loop) return { waitMs: 0, failures: 1 };
  if (healthyForMs >= resetAfterMs) return { waitMs: 0, failures: 1 };
  const failures = loop.failures + 1;
  const diedAt = loop.diedAtMs ?? nowMs;
  return { waitMs: Math.max(0, diedAt + backoffDelayMs(failures, policy) - nowMs), failures };
}
