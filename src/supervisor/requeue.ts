import type { ReconcileResult } from './work-queue';

/** Longest delay a timer takes (about 24.8 days). */
const MAX_REQUEUE_MS = 2 ** 31 - 1;

/** The soonest of the times a pass wants to look again. */
export class Requeue {
  private ms: number | undefined;

  after(ms: number): void {
    const bounded = Math.min(MAX_REQUEUE_MS, Math.max(1, Math.ceil(ms)));
    this.ms = this.ms === undefined ? bounded : Math.min(this.ms, bounded);
  }

  result(): ReconcileResult {
    return this.ms === undefined ? {} : { requeueAfterMs: this.ms };
  }
}
