import type { ControlContext } from '../control/context';
import type { RoutingTable } from '../gateway/routing-table';
import type { Logger } from '../logger';
import type { ObservedInstance, Runtime } from '../runtime/runtime';
import { InstanceRepository } from '../store/instance.repository';
import { AutoscalerTick, type CallActivity } from './autoscaler-tick';
import { systemClock, type Clock } from './clock';
import { InstanceHealth } from './instance-health';
import type { SpecSettings } from './instance-spec';
import type { LeaderLock } from './leader';
import { NodeReconciler } from './reconciler';
import { fingerprintOf } from './resync-fingerprint';
import { watchRuntimeEvents } from './runtime-events';
import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { WorkQueue } from './work-queue';

export interface SupervisorOptions {
  /** Where what happens to nodes is told (created, started, healthy, exited, scaled…); nowhere when absent. */
  events?: NodeEventSink;
  /**
   * Period of the full resync (every node, every instance). Runtime events
   * and probe results drive the passes; the resync only catches what they
   * could not tell, so it is rare.
   */
  resyncMs: number;
  /** How often a process that does not lead tries to take the lock (and the leader checks it still holds it). */
  leaderPollMs: number;
  /** A node that does not become healthy this long after its generation or resume began fails. */
  startupTimeoutMs: number;
  /** An instance unhealthy for longer than this is started again. */
  unhealthyGraceMs: number;
  /** Containers nobody owns are removed only this long after leading starts, so that a restart adopts first. */
  orphanGraceMs: number;
  /** SIGTERM → SIGKILL grace when stopping an instance. */
  stopGraceSeconds: number;
  /** Nodes reconciled at once. */
  concurrency: number;
  /** How often the autoscaler samples the load and decides. */
  scaleIntervalMs: number;
  /** An instance healthy this long before it died starts a new crash-loop count. */
  crashLoopResetMs: number;
}

export const DEFAULT_SUPERVISOR_OPTIONS: SupervisorOptions = {
  resyncMs: 60_000,
  leaderPollMs: 2000,
  startupTimeoutMs: 120_000,
  unhealthyGraceMs: 30_000,
  orphanGraceMs: 10_000,
  stopGraceSeconds: 5,
  concurrency: 4,
  scaleIntervalMs: 1000,
  crashLoopResetMs: 60_000,
};

/**
 * The supervisor as controller-runtime lays one out: a work queue of node ids
 * with per-item backoff ({@link WorkQueue}), the reconcile function
 * ({@link NodeReconciler}), and the watchers that enqueue — API writes
 * ({@link notify}), runtime events ({@link watchRuntimeEvents}), probe
 * results ({@link InstanceHealth}), the autoscaler tick
 * ({@link AutoscalerTick}) and a rare full resync. It reconciles only while
 * this process holds the leader lock. Cost at rest follows change, not size:
 * with nothing happening, only the health probes run.
 */
export class Supervisor {
  private readonly clock: Clock;
  private readonly repo: InstanceRepository;
  private readonly health: InstanceHealth;
  private readonly autoscaler: AutoscalerTick;
  private readonly reconciler: NodeReconciler;
  private readonly queue: WorkQueue<string>;
  private leader = false;
  private ledSince = 0;
  private stopped = false;
  private unwatchRuntime: (() => void) | undefined;
  private leaderTimer: NodeJS.Timeout | undefined;
  private scaleTimer: NodeJS.Timeout | undefined;
  private cancelResync: (() => void) | undefined;
  private resyncing: Promise<void> | undefined;

  constructor(
    ctx: ControlContext,
    private readonly runtime: Runtime,
    specs: SpecSettings,
    routing: RoutingTable,
    private readonly lock: LeaderLock,
    private readonly log: Logger,
    private readonly options: SupervisorOptions = DEFAULT_SUPERVISOR_OPTIONS,
    clock: Clock = systemClock(ctx.now),
  ) {
    this.clock = clock;
    this.repo = new InstanceRepository(ctx.orm);
    const enqueue = (nodeId: string): void => this.enqueue(nodeId);
    const events = options.events ?? NO_EVENTS;
    this.health = new InstanceHealth(this.repo, routing, clock, log, enqueue, (instanceId) => specs.workerToken(instanceId), events);
    this.autoscaler = new AutoscalerTick(clock, log, enqueue, events);
    this.reconciler = new NodeReconciler(this.repo, runtime, specs, routing, this.health, this.autoscaler, clock, log, options, () => this.ledSince, events);
    this.queue = new WorkQueue<string>({
      // Keys queued before the lead was lost are dropped, not reconciled.
      reconcile: (nodeId) => (this.leader ? this.reconciler.reconcile(nodeId) : Promise.resolve({})),
      clock,
      concurrency: options.concurrency,
      onError: (nodeId, err, retryInMs) => this.log.warn({ err, nodeId, retryInMs }, 'reconcile failed; retrying'),
    });
  }

  /**
   * Gives the autoscaler its load signal (requests in flight on a node right
   * now, as the data plane counts them) and tells probes when a worker is busy.
   */
  measureLoadWith(loadOf: (nodeId: string) => number, isBusy: (instanceId: string) => boolean = () => false): void {
    this.autoscaler.measureLoadWith(loadOf);
    this.health.ignoreFailuresWhile(isBusy);
  }

  /** Tells the autoscaler the calls each node gets (and holds while it wakes): a node with min 0 sleeps after a window without any. */
  watchCallsWith(activityOf: (nodeId: string) => CallActivity): void {
    this.autoscaler.watchCallsWith(activityOf);
  }

  /** Tells `onDecision` of each autoscaler decision that changes a node's count, and `onWoke` of each finished wake (metrics). */
  observeScalingWith(onDecision: (nodeId: string, direction: 'up' | 'down') => void, onWoke: (nodeId: string, seconds: number) => void = () => undefined): void {
    this.autoscaler.onDecision = onDecision;
    this.autoscaler.onWoke = onWoke;
  }

  /**
   * A call to the node found no healthy instance and waits for one: a
   * sleeping node gets one instance through its next pass (calls that come
   * while it wakes ask again, and add none). Only the leader starts
   * instances; elsewhere nothing happens and the call waits out its bound.
   */
  wake(nodeId: string): void {
    if (this.leader && !this.stopped) this.autoscaler.wake(nodeId);
  }

  /** Starts trying to lead; reconciles only while this process holds the leader lock. */
  start(): void {
    void this.leadership();
    this.leaderTimer = setInterval(() => void this.leadership(), this.options.leaderPollMs);
    this.scaleTimer = setInterval(() => {
      if (this.leader && !this.stopped) this.autoscaler.tick();
    }, this.options.scaleIntervalMs);
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Called after an API write: reconcile that node soon. */
  notify(nodeId: string): void {
    this.enqueue(nodeId);
  }

  /** The data plane could not reach an instance: out of balancing at once, and a pass decides. */
  reportFailure(nodeId: string, instanceId: string, error: Error): void {
    this.health.reportFailure(nodeId, instanceId, error);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.leaderTimer);
    clearInterval(this.scaleTimer);
    this.cancelResync?.();
    this.unwatchRuntime?.();
    this.health.close();
    await this.queue.stop();
    await this.resyncing?.catch(() => undefined);
    await this.lock.release();
  }

  private enqueue(nodeId: string): void {
    if (this.leader && !this.stopped) this.queue.add(nodeId);
  }

  /** Takes the lead when the lock is free; gives it up when the lock is lost. */
  private async leadership(): Promise<void> {
    if (this.stopped) return;
    if (this.leader) {
      if (this.lock.held()) return;
      this.leader = false;
      this.unwatchRuntime?.();
      this.unwatchRuntime = undefined;
      this.cancelResync?.();
      this.health.close();
      this.autoscaler.clear();
      this.log.warn('lost the supervisor lock; stopped supervising');
      return;
    }
    const acquired = await this.lock.tryAcquire().catch((err: unknown) => {
      this.log.warn({ err }, 'cannot take the supervisor lock');
      return false;
    });
    if (!acquired || this.stopped || this.leader) return;
    this.leader = true;
    this.ledSince = this.clock.now();
    this.reconciler.unsettleAll();
    this.log.info('this process supervises the instances');
    this.unwatchRuntime = watchRuntimeEvents(this.runtime, this.health, () => void this.resync(), this.log);
    void this.resync();
  }

  /** Enqueues every node and every node the runtime runs instances of, then schedules the next resync. */
  private resync(): Promise<void> {
    if (this.resyncing) return this.resyncing;
    this.cancelResync?.();
    this.resyncing = (async () => {
      try {
        // Read in a few queries and one listing; a node is enqueued only when it differs from what
        // its last (settled) pass left, so a resync of 200 quiet nodes costs almost nothing.
        const snapshot = await this.repo.resyncSnapshot();
        const observed = new Map<string, ObservedInstance[]>();
        for (const o of await this.runtime.listInstances()) observed.set(o.nodeId, [...(observed.get(o.nodeId) ?? []), o]);
        let enqueued = 0;
        for (const id of new Set([...snapshot.nodes.keys(), ...observed.keys()])) {
          const version = snapshot.nodes.get(id);
          const fingerprint =
            version === undefined ? undefined : fingerprintOf(version, snapshot.instances.get(id) ?? [], observed.get(id) ?? [], snapshot.pending.get(id) ?? []);
          if (fingerprint !== undefined && this.reconciler.unchanged(id, fingerprint)) continue;
          enqueued++;
          this.enqueue(id);
        }
        this.log.debug({ nodes: snapshot.nodes.size, enqueued }, 'resync');
      } catch (err) {
        this.log.error({ err }, 'resync failed');
      }
    })().finally(() => {
      this.resyncing = undefined;
      if (this.leader && !this.stopped) this.cancelResync = this.clock.after(this.options.resyncMs, () => void this.resync());
    });
    return this.resyncing;
  }
}
