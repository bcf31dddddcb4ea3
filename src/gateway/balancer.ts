/**
 * Least-in-flight load balancing by "power of two choices": pick two distinct
 * backends at random and send the call to the one with fewer calls in flight.
 *
 * Why this and not round robin or a full least-connections scan: it needs no
 * shared cursor, costs O(1) per pick whatever the number of instances, and
 * avoids the herd effect of always choosing the single least-loaded instance
 * (every router picking the same "best" one at once). Slow instances
 * accumulate in-flight calls and so receive fewer new ones, which is what lets
 * the supervisor's autoscaler read "requests in flight per instance" as load.
 */

/** The one thing the balancer needs to know about a backend. */
export interface BalancedBackend {
  readonly instanceId: string;
}

/** A source of uniform numbers in [0, 1); `Math.random` in production, a fixed sequence in tests. */
export type RandomSource = () => number;

/**
 * In-flight counters per instance plus the picking rule. One balancer is
 * shared by every node: instance ids are unique across Berth, so a single map
 * serves all of them and an instance's load is counted the same whichever
 * alias or node id the call came through.
 */
export class InFlightBalancer {
  private readonly inFlight = new Map<string, number>();

  /**
   * Chooses a backend for the next call, or `undefined` when every backend is
   * excluded (or the list is empty). `exclude` holds instances that already
   * failed for this call, so that a retry lands elsewhere.
   *
   * The choice reads the counters but does not change them: call
   * {@link begin} once the call is really sent there.
   */
  pick<T extends BalancedBackend>(
    backends: readonly T[],
    exclude?: ReadonlySet<string>,
    random: RandomSource = Math.random,
  ): T | undefined {
    if (exclude !== undefined && exclude.size > 0) {
      const allowed = backends.filter((b) => !exclude.has(b.instanceId));
      return this.pickFrom(allowed, random);
    }
    return this.pickFrom(backends, random);
  }

  /** Counts one more call in flight on `instanceId`. */
  begin(instanceId: string): void {
    this.inFlight.set(instanceId, (this.inFlight.get(instanceId) ?? 0) + 1);
  }

  /** Counts one call less on `instanceId`; an instance with none left is forgotten. */
  end(instanceId: string): void {
    const n = this.inFlight.get(instanceId);
    if (n === undefined) return;
    if (n <= 1) this.inFlight.delete(instanceId);
    else this.inFlight.set(instanceId, n - 1);
  }

  /** Calls in flight on `instanceId` (for metrics and the autoscaler). */
  inFlightOf(instanceId: string): number {
    return this.inFlight.get(instanceId) ?? 0;
  }

  private pickFrom<T extends BalancedBackend>(backends: readonly T[], random: RandomSource): T | undefined {
    const n = backends.length;
    if (n <= 1) return backends[0];
    const i = Math.floor(random() * n) % n;
    // A second index drawn from the n-1 others, so the two choices differ.
    let j = Math.floor(random() * (n - 1)) % (n - 1);
    if (j >= i) j += 1;
    const a = backends[i];
    const b = backends[j];
    if (a === undefined || b === undefined) return a ?? b;
    // Ties go to the first draw, which is itself random.
    return this.inFlightOf(b.instanceId) < this.inFlightOf(a.instanceId) ? b : a;
  }
}
