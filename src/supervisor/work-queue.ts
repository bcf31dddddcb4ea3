import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffPolicy } from '../domain/backoff';
import type { Clock } from './clock';

/** What one reconcile pass asks of the queue: nothing, or to be looked at again after a while. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface WorkQueueOptions<K> {
  /** Reconciles one key; throwing retries it with per-key exponential backoff. */
  reconcile: (key: K) => Promise<ReconcileResult | void>;
  clock: Clock;
  /** Keys reconciled at once. */
  concurrency: number;
  backoff?: BackoffPolicy;
  /** Told about each failed pass and the delay before the retry. */
  onError?: (key: K, err: unknown, retryInMs: number) => void;
}

/**
 * A work queue of keys (node ids), as controller-runtime's workqueue and
 * `reconcileHandler` make one:
 * - a key is queued at most once; adding a queued key does nothing;
 * - a key is processed by one pass at a time; adding it while its pass runs
 *   marks it dirty, and it is processed again once the pass ends;
 * - a pass that throws is retried after a per-key delay that doubles with
 *   each consecutive failure (0.5 s … 30 s by default) and is forgotten after
 *   a pass succeeds;
 * - a pass may ask to be run again after a delay; an earlier add wins.
 */
export class WorkQueue<K> {
  private readonly queue = new Set<K>();
  private readonly active = new Set<K>();
  private readonly dirty = new Set<K>();
  /** Delayed adds: when each is due and how to cancel it. */
  private readonly delayed = new Map<K, { at: number; cancel: () => void }>();
  private readonly failures = new Map<K, number>();
  private readonly passes = new Set<Promise<void>>();
  private readonly backoff: BackoffPolicy;
  private stopped = false;

  constructor(private readonly options: WorkQueueOptions<K>) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
  }

  /** Queues a key now. */
  add(key: K): void {
    if (this.stopped) return;
    const pending = this.delayed.get(key);
    if (pending) {
      pending.cancel();
      this.delayed.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.queue.add(key);
    this.pump();
  }

  /** Queues a key after `ms`, unless it is already due sooner. */
  addAfter(key: K, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.options.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.cancel();
    const cancel = this.options.clock.after(ms, () => {
      if (this.delayed.get(key)?.cancel !== cancel) return;
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, cancel });
  }

  /** How many passes of the key failed in a row. */
  failuresOf(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Drops everything known about a key (it no longer exists); a running pass finishes. */
  forget(key: K): void {
    this.queue.delete(key);
    this.dirty.delete(key);
    this.failures.delete(key);
    this.delayed.get(key)?.cancel();
    this.delayed.delete(key);
  }

  /** Stops taking work and waits for the passes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.delayed.values()) d.cancel();
    this.delayed.clear();
    this.queue.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.passes]);
  }

  /** Waits until nothing is queued or running (delayed keys excepted). */
  async idle(): Promise<void> {
    while (this.passes.size > 0) await Promise.allSettled([...this.passes]);
  }

  private pump(): void {
    for (const key of this.queue) {
      if (this.active.size >= this.options.concurrency) return;
      this.queue.delete(key);
      this.active.add(key);
      const pass = this.process(key).finally(() => {
        this.passes.delete(pass);
        this.active.delete(key);
        if (this.dirty.delete(key) && !this.stopped) this.queue.add(key);
        this.pump();
      });
      this.passes.add(pass);
    }
  }

  private async process(key: K): Promise<void> {
    let result: ReconcileResult | void;
    try {
      result = await this.options.reconcile(key);
    } catch (err) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = backoffDelayMs(failures, this.backoff);
      this.options.onError?.(key, err, delay);
      this.addAfter(key, delay);
      return;
    }
    this.failures.delete(key);
    if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
  }
}
