import type { Logger } from '../logger';
import type { HeldResource, Runtime } from '../runtime/runtime';

export interface GarbageCollectorOptions {
  /**
   * Nothing younger than this is collected, and a node is left alone while
   * anything of it is: a node being created or a Berth restarting is never
   * mistaken for an orphan.
   */
  graceMs: number;
  /** How often to look again after the pass at start. Rare: orphans are rare, and a pass lists everything. */
  intervalMs: number;
  /** SIGTERM → SIGKILL grace when stopping an orphaned instance. */
  stopGraceSeconds: number;
}

/** Which of these node ids have a node row (nodes being deleted included). */
export type ExistingNodes = (nodeIds: string[]) => Promise<Set<string>>;

/** What one pass found and did. */
export interface CollectionResult {
  /** Node ids whose resources were removed. */
  collected: string[];
  /** Node ids without a node row whose resources are younger than the grace period: left for a later pass. */
  tooYoung: string[];
  /** Node ids whose removal failed (logged): tried again on the next pass. */
  failed: string[];
}

/**
 * Removes what the runtime holds for nodes that no longer exist: containers,
 * processes and networks labelled with this cluster id whose node has no row
 * in the database. The supervisor removes a node's resources when it deletes
 * the node; this catches everything that path can miss: a crash between the
 * row's removal and the runtime's, a notification lost to another process, a
 * network left by an earlier version. It runs once at start and then rarely,
 * and never touches a node that exists or anything younger than the grace
 * period.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CollectionResult> | undefined;
  private stopped = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly existing: ExistingNodes,
    private readonly log: Logger,
    private readonly options: GarbageCollectorOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** A pass now, then one every `intervalMs`. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      void this.collect()
        .catch((err: unknown) => this.log.warn({ err }, 'garbage collection failed; trying again later'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass; concurrent calls share it. */
  collect(): Promise<CollectionResult> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<CollectionResult> {
    // The runtime is listed before the database is read: a resource listed here was created after
    // its node's row, so a node that exists now is seen by the read below.
    const held = await this.runtime.listHeld();
    const byNode = new Map<string, HeldResource[]>();
    for (const r of held) byNode.set(r.nodeId, [...(byNode.get(r.nodeId) ?? []), r]);
    const result: CollectionResult = { collected: [], tooYoung: [], failed: [] };
    if (byNode.size === 0) return result;
    const existing = await this.existing([...byNode.keys()]);
    const now = this.now();
    for (const [nodeId, resources] of byNode) {
      if (existing.has(nodeId) || this.stopped) continue;
      if (resources.some((r) => now - r.createdAt.getTime() < this.options.graceMs)) {
        result.tooYoung.push(nodeId);
        continue;
      }
      try {
        for (const r of resources) {
          if (r.kind !== 'instance') continue;
          this.log.info({ nodeId, instanceId: r.id }, 'collecting an instance of a node that does not exist');
          await this.runtime.removeInstance(r.id, this.options.stopGraceSeconds);
        }
        if (resources.some((r) => r.kind === 'node-resource')) this.log.info({ nodeId }, 'collecting the network of a node that does not exist');
        await this.runtime.removeNodeResources(nodeId);
        result.collected.push(nodeId);
      } catch (err) {
        this.log.warn({ err, nodeId }, 'cannot collect the resources of a node that does not exist; trying again later');
        result.failed.push(nodeId);
      }
    }
    return result;
  }
}
