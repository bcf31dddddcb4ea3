import type { UsageRun } from '../domain/usage';
import type { Logger } from '../logger';
import type { ObservedInstance, Runtime, RuntimeEvent } from '../runtime/runtime';
import type { UsageRepository } from '../store/usage.repository';

/** What a node's instances count, looked up when a run of one is first seen; undefined for a node that is gone. */
export interface RunPricing {
  folderId: string;
  configurationName: string;
  /** Units per instance-second. */
  units: number;
}

export interface UsageMeterOptions {
  /** How often every running instance is listed (runs that ended unseen end at their last sighting). */
  periodMs: number;
}

/** How often the meter checks whether this process took the lead. */
const LEADERSHIP_CHECK_MS = 500;
/** A usage answer looks at the runtime again when the last look is older than this. */
const REFRESH_AFTER_MS = 1000;

export const DEFAULT_USAGE_METER_OPTIONS: UsageMeterOptions = { periodMs: 5000 };

/**
 * Records the runs of instances that usage is computed from: each container
 * or process from the start the runtime reports for it to its end. Its
 * start comes from the runtime, so a run first seen late (after a restart of
 * Berth, say) still counts from its real start; its end is the runtime's
 * exit event as it happens, or the end of its removal by the supervisor
 * ({@link metered}). A run found gone without either (it ended while
 * Berth was down, or the event was lost) ends when it was last seen running:
 * at most one period (or Berth's downtime) is not counted, and nothing ever
 * is twice. Only the leader records, so several Berths on one database
 * record each run once.
 */
export class UsageMeter {
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  /** Ticks and exits in the order they came, one at a time. */
  private work: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Whether this process led at the last check: a new leader looks at once. */
  private led = false;
  private lastTickMs = 0;

  constructor(
    private readonly repo: UsageRepository,
    private readonly runtime: Runtime,
    private readonly pricing: (nodeId: string) => Promise<RunPricing | undefined>,
    private readonly leads: () => boolean,
    private readonly log: Logger,
    private readonly options: UsageMeterOptions = DEFAULT_USAGE_METER_OPTIONS,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    this.unwatch = this.runtime.watch((event) => this.onEvent(event));
    this.timer = setInterval(() => this.check(), Math.min(LEADERSHIP_CHECK_MS, this.options.periodMs));
    this.check();
  }

  /** A look when this process just took the lead, or one period after the last. */
  private check(): void {
    const leads = this.leads();
    if (leads && (!this.led || this.now().getTime() - this.lastTickMs >= this.options.periodMs)) this.enqueue(() => this.tick());
    this.led = leads;
  }

  /**
   * Brings the runs up to date (on the leader; elsewhere they are as the
   * leader's last look left them): an answer about usage then counts
   * instances started since the last look too.
   */
  async refresh(): Promise<void> {
    if (this.stopped || !this.leads()) return;
    if (this.now().getTime() - this.lastTickMs >= REFRESH_AFTER_MS) this.enqueue(() => this.tick());
    await this.work;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unwatch?.();
    await this.work;
  }

  private enqueue(step: () => Promise<void>): void {
    this.work = this.work.then(async () => {
      if (this.stopped || !this.leads()) return;
      try {
        await step();
      } catch (err) {
        this.log.warn({ err }, 'usage metering failed; trying again at the next look');
      }
    });
  }

  /**
   * The runtime as the supervisor should drive it: every instance it starts
   * is recorded at once, and every instance it removes ends its run when the
   * removal is done (a runtime need not report the exit of what it was told
   * to stop: the process runtime does not for processes it adopted). Everything
   * else passes through untouched.
   */
  metered(runtime: Runtime): Runtime {
    return new Proxy(runtime, {
      get: (target, property) => {
        if (property === 'startInstance')
          return async (...args: Parameters<Runtime['startInstance']>) => {
            const started = await target.startInstance(...args);
            this.started(started);
            return started;
          };
        if (property === 'removeInstance')
          return async (...args: Parameters<Runtime['removeInstance']>) => {
            await target.removeInstance(...args);
            this.removed(args[0]);
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  private started(o: ObservedInstance): void {
    const at = this.now();
    if (o.state === 'running') this.enqueue(() => this.begin(o.nodeId, o.instanceId, o.runtimeId, o.startedAt ?? at, null, at));
  }

  private removed(instanceId: string): void {
    const at = this.now();
    this.enqueue(() => this.repo.endInstance(instanceId, at));
  }

  private onEvent(event: RuntimeEvent): void {
    const at = this.now();
    if (event.kind === 'resync') this.enqueue(() => this.tick());
    else this.enqueue(() => this.ended(event.nodeId, event.instanceId, event.runtimeId, at));
  }

  /** One look at everything that runs: new runs recorded, runs going on seen, runs gone ended. */
  async tick(): Promise<void> {
    const open = await this.repo.open();
    // Listed after the open runs: a run recorded meanwhile is in this list, and is not ended below.
    const observed = await this.runtime.listInstances();
    const at = this.now();
    this.lastTickMs = at.getTime();
    const running = observed.filter((o) => o.state === 'running');
    const key = (instanceId: string, runtimeId: string) => `${instanceId}\u0000${runtimeId}`;
    const openByKey = new Map(open.map((r) => [key(r.instanceId, r.runtimeId), r]));
    const seen: string[] = [];
    for (const o of running) {
      const run = openByKey.get(key(o.instanceId, o.runtimeId));
      if (run) {
        seen.push(run.id);
        openByKey.delete(key(o.instanceId, o.runtimeId));
      } else {
        await this.begin(o.nodeId, o.instanceId, o.runtimeId, o.startedAt ?? at, null, at);
      }
    }
    await this.repo.seen(seen, at);
    for (const gone of openByKey.values()) {
      this.log.info({ nodeId: gone.nodeId, instanceId: gone.instanceId, runtimeId: gone.runtimeId, lastSeen: gone.lastSeenTime }, 'usage: a run ended unseen; it counts until it was last seen running');
      await this.repo.endAtLastSeen(gone);
    }
  }

  /**
   * An instance's container or process ended at `at`. A run too short to
   * have been seen by a tick is recorded now, from the start the runtime
   * still reports for it.
   */
  private async ended(nodeId: string, instanceId: string, runtimeId: string, at: Date): Promise<void> {
    if (await this.repo.end(instanceId, runtimeId, at)) return;
    if (await this.repo.known(instanceId, runtimeId)) return;
    const found = (await this.runtime.listInstances(nodeId)).find((o) => o.instanceId === instanceId && o.runtimeId === runtimeId);
    if (found?.startedAt) await this.begin(nodeId, instanceId, runtimeId, found.startedAt, at, at);
  }

  private async begin(nodeId: string, instanceId: string, runtimeId: string, startTime: Date, endTime: Date | null, at: Date): Promise<void> {
    const pricing = await this.pricing(nodeId);
    if (!pricing) return; // an instance of a node that is gone: the garbage collector removes it
    const run: Omit<UsageRun, 'id'> = {
      folderId: pricing.folderId,
      nodeId,
      instanceId,
      runtimeId,
      configurationName: pricing.configurationName,
      units: pricing.units,
      startTime,
      endTime,
      lastSeenTime: endTime ?? at,
    };
    if (await this.repo.begin(run)) this.log.debug({ nodeId, instanceId, runtimeId, units: pricing.units }, 'usage: run recorded');
  }
}
