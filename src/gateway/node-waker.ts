import { QuotaExceededError, UnavailableError } from '../domain/errors';
import type { RoutingTable } from './routing-table';

export interface WakeOptions {
  /** Longest a call waits for a sleeping node's first instance (its own deadline may end the wait sooner). */
  holdMs: number;
  /** Calls that may wait per node at once; more are refused with RESOURCE_EXHAUSTED. */
  maxHeld: number;
}

/** The `retry-after` of a call that waited out its bound: the instance is usually up by then. */
export const WAKE_RETRY_AFTER_SECONDS = 5;

interface Held {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * The data plane's side of scale from zero. It counts the calls each node
 * gets (a node with min 0 sleeps only after a window without any), and
 * holds calls to a node that has no healthy instance while one starts: the
 * first held call asks the supervisor to wake the node (through its work
 * queue), later ones share that wake. Held calls go on as soon as the
 * routing table lists a healthy instance; past the bound they get
 * UNAVAILABLE (HTTP 503) with `retry-after`.
 */
export class NodeWaker {
  private readonly calls = new Map<string, number>();
  private readonly held = new Map<string, Set<Held>>();
  private readonly stopListening: () => void;

  constructor(
    private readonly routing: RoutingTable,
    /** Asks the supervisor for one instance of the node. */
    private readonly wake: (nodeId: string) => void,
    private readonly options: WakeOptions,
  ) {
    this.stopListening = routing.onChange((nodeId) => this.routeChanged(nodeId));
  }

  /** Counts a call to the node (one Map write; the only cost a call to an awake node pays here). */
  noteCall(nodeId: string): void {
    this.calls.set(nodeId, (this.calls.get(nodeId) ?? 0) + 1);
  }

  /** The calls the node got so far, and those held for it now (the autoscaler's sign of activity). */
  activityOf(nodeId: string): { calls: number; held: number } {
    return { calls: this.calls.get(nodeId) ?? 0, held: this.held.get(nodeId)?.size ?? 0 };
  }

  /** Calls held right now, by node (for metrics). */
  heldCounts(): Map<string, number> {
    return new Map([...this.held].map(([nodeId, calls]) => [nodeId, calls.size]));
  }

  /**
   * Waits until the node has a healthy instance, waking it if it sleeps.
   * Rejects with UNAVAILABLE (retry-after) when neither happened within the
   * bound (or `limitMs`, when shorter) or before `signal` aborted, and with RESOURCE_EXHAUSTED when the
   * node already holds as many calls as allowed.
   */
  hold(nodeId: string, signal?: AbortSignal, limitMs?: number): Promise<void> {
    if ((this.routing.get(nodeId)?.backends.length ?? 0) > 0) return Promise.resolve();
    let calls = this.held.get(nodeId);
    if (calls && calls.size >= this.options.maxHeld)
      return Promise.reject(
        new QuotaExceededError(
          `node ${nodeId} is waking and already holds ${calls.size} calls; try again later`,
          `nodes/${nodeId}/wake_queue`,
          WAKE_RETRY_AFTER_SECONDS,
        ),
      );
    const notAwake = (): UnavailableError =>
      new UnavailableError(`node ${nodeId} was asleep and did not get a healthy instance in time; retry in ${WAKE_RETRY_AFTER_SECONDS} s`, {
        retryAfterSeconds: WAKE_RETRY_AFTER_SECONDS,
      });
    if (signal?.aborted) return Promise.reject(notAwake());
    if (!calls) this.held.set(nodeId, (calls = new Set()));
    const set = calls;
    const first = set.size === 0;
    const promise = new Promise<void>((resolve, reject) => {
      const end = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(held);
        if (set.size === 0 && this.held.get(nodeId) === set) this.held.delete(nodeId);
      };
      const held: Held = {
        resolve: () => {
          end();
          resolve();
        },
        reject: (err) => {
          end();
          reject(err);
        },
      };
      const onAbort = (): void => held.reject(notAwake());
      const timer = setTimeout(onAbort, limitMs ? Math.min(limitMs, this.options.holdMs) : this.options.holdMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(held);
    });
    if (first) this.wake(nodeId);
    return promise;
  }

  private routeChanged(nodeId: string): void {
    const route = this.routing.get(nodeId);
    if (!route) this.calls.delete(nodeId);
    const calls = this.held.get(nodeId);
    if (!calls || (route?.backends.length ?? 0) === 0) return;
    for (const held of [...calls]) held.resolve();
  }

  close(): void {
    this.stopListening();
    for (const calls of this.held.values()) for (const held of [...calls]) held.reject(new UnavailableError('Berth is stopping'));
  }
}
