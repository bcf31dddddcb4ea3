/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` wait.
 * Pure: the caller passes the time.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes a token; when there is none, how many whole seconds until there is one. */
  take(nowMs: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.last) / 1000) * this.ratePerSecond);
    this.last = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerSecond)) };
  }
}

/** A key's bucket size: its burst, or one second's worth of calls (at least one) when it sets none. */
export function burstOf(ratePerSecond: number, burst: number): number {
  return burst > 0 ? burst : Math.max(1, Math.ceil(ratePerSecond));
}
