import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { afterProbe, type HealthCounters } from '../domain/instance';
import type { InstanceState, Node } from '../domain/node';
import type { RoutingTable } from '../gateway/routing-table';
import type { Logger } from '../logger';
import type { ObservedInstance } from '../runtime/runtime';
import type { InstanceRepository } from '../store/instance.repository';
import type { Clock } from './clock';
import { HealthMonitor } from './health-monitor';
import type { ProbeResult } from './health-probe';
import { endpointPortOf, healthCheckOf, healthyIntervalOf, instanceHeadersOf, startingIntervalOf } from './instance-spec';

/** A probe result unchanged this long is written again, so `lastHealthCheck` shows probes still run. */
const HEARTBEAT_MS = 300_000;

/** What is kept about an instance being probed (all derivable again from the database and the runtime). */
interface Watched {
  nodeId: string;
  runtimeId: string;
  host: string;
  port: number;
  state: InstanceState;
  counters: HealthCounters;
  /** When the state last changed. */
  since: number;
  failsThreshold: number;
  passesThreshold: number;
  lastPersist: number;
  lastPassed?: boolean;
  lastReason?: string;
}

/**
 * The health-probe handling: probes each running instance, runs the instance
 * state machine on the results, keeps the routing table's backends to the
 * healthy ones, and wakes the node's reconcile pass whenever an instance
 * changes state or dies. Probe results reach the database only when they say
 * something new (or after {@link HEARTBEAT_MS}): at rest, probing costs no writes.
 */
export class InstanceHealth {
  private readonly watched = new Map<string, Watched>();
  /** How long each instance's last healthy stretch lasted (or lasts), for the crash-loop reset. */
  private readonly healthyStretch = new Map<string, { since: number; until?: number }>();
  private readonly monitor: HealthMonitor;
  private isBusy: (instanceId: string) => boolean = () => false;

  constructor(
    private readonly repo: InstanceRepository,
    private readonly routing: RoutingTable,
    private readonly clock: Clock,
    private readonly log: Logger,
    /** Wakes the reconcile pass of a node. */
    private readonly enqueue: (nodeId: string) => void,
    /** The token a checkpoint instance's worker requires, on its probes too. */
    private readonly workerToken: (instanceId: string) => string,
    private readonly events: NodeEventSink = NO_EVENTS,
  ) {
    this.monitor = new HealthMonitor((id, result) => this.onProbe(id, result), log);
  }

  /** A checkpoint worker answers its probe only between calls: a failed probe of a busy worker says nothing. */
  ignoreFailuresWhile(isBusy: (instanceId: string) => boolean): void {
    this.isBusy = isBusy;
  }

  /** The state the probes give an instance, when it is probed under this runtime id. */
  stateOf(instanceId: string, runtimeId: string): { state: InstanceState; since: number } | undefined {
    const w = this.watched.get(instanceId);
    return w && w.runtimeId === runtimeId ? { state: w.state, since: w.since } : undefined;
  }

  isWatching(instanceId: string, runtimeId: string): boolean {
    return this.watched.get(instanceId)?.runtimeId === runtimeId;
  }

  /** How long the instance's last healthy stretch lasted (0 if it never was healthy). */
  healthyForMs(instanceId: string): number {
    const s = this.healthyStretch.get(instanceId);
    return s ? (s.until ?? this.clock.now()) - s.since : 0;
  }

  /** Starts probing an instance (a new one, or one found running after a restart of Berth). */
  watch(node: Node, instanceId: string, rowState: InstanceState, o: ObservedInstance): void {
    const hc = healthCheckOf(node);
    const hostPort = o.ports[hc.port];
    const endpoint = o.ports[endpointPortOf(node)];
    if (!hostPort || !endpoint) return;
    if (this.isWatching(instanceId, o.runtimeId)) return;
    const healthyIntervalMs = healthyIntervalOf(node);
    const watchedSince = this.clock.now();
    const w: Watched = {
      nodeId: node.id,
      runtimeId: o.runtimeId,
      host: endpoint.host,
      port: endpoint.port,
      state: rowState === 'healthy' || rowState === 'unhealthy' ? rowState : 'started',
      counters: { passes: 0, fails: 0 },
      since: this.clock.now(),
      failsThreshold: hc.failsThreshold,
      passesThreshold: hc.passesThreshold,
      lastPersist: 0,
    };
    this.watched.set(instanceId, w);
    this.monitor.watch(
      instanceId,
      {
        type: hc.type,
        host: hostPort.host,
        port: hostPort.port,
        path: hc.path,
        service: hc.grpcService,
        timeoutMs: hc.timeoutMs,
        headers: instanceHeadersOf(node, instanceId, this.workerToken),
      },
      () => {
        if (w.state === 'healthy') return w.counters.fails === 0 ? healthyIntervalMs : hc.intervalMs;
        // Not healthy yet: join balancing as soon as it can.
        if (w.state !== 'unhealthy') return startingIntervalOf(node, this.clock.now() - watchedSince);
        return hc.intervalMs;
      },
    );
  }

  /** Stops probing an instance and takes it out of balancing. */
  unwatch(nodeId: string, instanceId: string): void {
    this.monitor.unwatch(instanceId);
    this.leaveHealthy(instanceId);
    this.watched.delete(instanceId);
    this.routing.dropBackend(nodeId, instanceId);
  }

  /** The instance is gone for good: forget its history too. */
  forget(nodeId: string, instanceId: string): void {
    this.unwatch(nodeId, instanceId);
    this.healthyStretch.delete(instanceId);
  }

  /**
   * The runtime saw the instance's process or container end: it leaves
   * balancing and its row says so at once, and its node's pass decides what
   * next (restart, with backoff when it keeps dying).
   */
  markExited(nodeId: string, instanceId: string, runtimeId: string, reason: string): void {
    const w = this.watched.get(instanceId);
    if (w && runtimeId && w.runtimeId !== runtimeId) return;
    if (w) {
      this.log.info({ nodeId, instanceId, runtimeId, reason }, 'instance exited');
      this.unwatch(nodeId, instanceId);
      void this.repo
        .update(instanceId, { state: 'unhealthy', reason: `exited: ${reason}`, updateTime: new Date(this.clock.now()) }, { runtimeId: w.runtimeId, notDeleting: true })
        .catch((err: unknown) => this.log.warn({ err, instanceId }, 'cannot record an exit'));
    }
    this.enqueue(nodeId);
  }

  /**
   * The data plane could not reach an instance (connection refused or reset):
   * take it out of balancing at once and let the next pass decide.
   */
  reportFailure(nodeId: string, instanceId: string, error: Error): void {
    this.routing.dropBackend(nodeId, instanceId);
    const w = this.watched.get(instanceId);
    if (w && w.state === 'healthy') {
      this.log.warn({ nodeId, instanceId, err: error.message }, 'instance unreachable; out of balancing');
      w.counters = { passes: 0, fails: w.failsThreshold };
      this.setState(instanceId, w, 'unhealthy');
      void this.persist(instanceId, w, { passed: false, reason: `unreachable: ${error.message}` }, true);
    }
    this.enqueue(nodeId);
  }

  close(): void {
    this.monitor.close();
    this.watched.clear();
  }

  private setState(instanceId: string, w: Watched, state: InstanceState): void {
    if (w.state === 'healthy' && state !== 'healthy') this.leaveHealthy(instanceId);
    if (state === 'healthy' && w.state !== 'healthy') this.healthyStretch.set(instanceId, { since: this.clock.now() });
    w.state = state;
    w.since = this.clock.now();
  }

  private leaveHealthy(instanceId: string): void {
    const stretch = this.healthyStretch.get(instanceId);
    if (stretch && stretch.until === undefined && this.watched.get(instanceId)?.state === 'healthy') stretch.until = this.clock.now();
  }

  private onProbe(instanceId: string, result: ProbeResult): void {
    const w = this.watched.get(instanceId);
    if (!w) return;
    if (!result.passed && this.isBusy(instanceId)) return;
    const next = afterProbe(w.state, w.counters, result.passed, w);
    const changed = next.state !== w.state;
    w.counters = next.counters;
    if (changed) {
      this.log.info({ nodeId: w.nodeId, instanceId, from: w.state, to: next.state, reason: result.reason }, 'instance state');
      if (next.state === 'healthy') this.events.record({ nodeId: w.nodeId, instanceId, reason: 'InstanceHealthy', message: 'the health check passes' });
      else if (next.state === 'unhealthy') this.events.record({ nodeId: w.nodeId, instanceId, type: 'Warning', reason: 'InstanceUnhealthy', message: `the health check fails: ${result.reason}` });
      this.setState(instanceId, w, next.state);
      if (next.state === 'healthy') {
        const route = this.routing.get(w.nodeId);
        if (route && !route.backends.some((b) => b.instanceId === instanceId))
          this.routing.set({ ...route, backends: [...route.backends, { instanceId, host: w.host, port: w.port }] });
      } else {
        this.routing.dropBackend(w.nodeId, instanceId);
      }
    }
    const news = w.lastPassed !== result.passed || w.lastReason !== result.reason;
    w.lastPassed = result.passed;
    w.lastReason = result.reason;
    if (changed || news || this.clock.now() - w.lastPersist > HEARTBEAT_MS) void this.persist(instanceId, w, result, changed);
    if (changed) this.enqueue(w.nodeId);
  }

  /** Writes a probe's outcome, guarded by runtime id so a late probe of a replaced instance changes nothing. */
  private async persist(instanceId: string, w: Watched, result: ProbeResult, stateChanged: boolean): Promise<void> {
    w.lastPersist = this.clock.now();
    const now = new Date(w.lastPersist);
    try {
      await this.repo.update(
        instanceId,
        {
          state: w.state,
          // A serving instance keeps no reason; one that does not serve shows its latest failure.
          ...(w.state === 'healthy' ? { reason: '' } : result.passed ? {} : { reason: result.reason }),
          ...(stateChanged ? { updateTime: now } : {}),
          lastHealthCheck: { passed: result.passed, reason: result.reason, time: now },
        },
        { runtimeId: w.runtimeId, notDeleting: true },
      );
    } catch (err) {
      this.log.warn({ err, instanceId }, 'cannot record a health check');
    }
  }
}
