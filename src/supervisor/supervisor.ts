import type { EntityManager } from '@mikro-orm/core';
import { fork, type ControlContext } from '../control/context';
import { toNode } from '../control/nodes';
import { finishPending } from '../control/operations';
import { afterProbe, type HealthCounters, type Instance } from '../domain/instance';
import type { InstanceState, Node, NodeSpec, NodeStatus } from '../domain/node';
import { initialNodeStatus } from '../domain/node';
import { nodeStatusOf } from '../domain/node-status';
import { planNode, type ObservedSummary, type Step } from '../domain/planner';
import { decideScale, type ScalingState } from '../domain/autoscaler';
import type { RoutingTable } from '../gateway/routing-table';
import type { Logger } from '../logger';
import { DomainError } from '../domain/errors';
import { ImageUnavailableError, type ObservedInstance, type Runtime } from '../runtime/runtime';
import { InstanceEntity } from '../store/entities/instance.entity';
import { NodeEntity, NodeStatusEntity } from '../store/entities/node.entity';
import { newId } from '../store/ids';
import { HealthMonitor } from './health-monitor';
import type { ProbeResult } from './health-probe';
import { endpointPortOf, healthCheckOf, imageOf, instanceSpecOf, type SpecSettings } from './instance-spec';
import type { LeaderLock } from './leader';

export interface SupervisorOptions {
  /** Period of the full resync (every node, every container). */
  resyncMs: number;
  /** A node that has never been healthy fails its CreateNode after this long. */
  startupTimeoutMs: number;
  /** An instance unhealthy (or preparing) for longer than this is started again. */
  unhealthyGraceMs: number;
  /** Containers nobody owns are removed only this long after start, so a restart adopts first. */
  orphanGraceMs: number;
  /** SIGTERM → SIGKILL grace when stopping an instance. */
  stopGraceSeconds: number;
  /** Nodes reconciled at once. */
  concurrency: number;
  /** How often the autoscaler samples the load and decides. */
  scaleIntervalMs: number;
}

export const DEFAULT_SUPERVISOR_OPTIONS: SupervisorOptions = {
  resyncMs: 2000,
  startupTimeoutMs: 120_000,
  unhealthyGraceMs: 30_000,
  orphanGraceMs: 10_000,
  stopGraceSeconds: 5,
  concurrency: 4,
  scaleIntervalMs: 1000,
};

/** What the supervisor keeps about an instance it probes (all derivable again from DB + runtime). */
interface Watched {
  nodeId: string;
  runtimeId: string;
  host: string;
  port: number;
  state: InstanceState;
  counters: HealthCounters;
  since: number;
  failsThreshold: number;
  passesThreshold: number;
  lastPersist: number;
  lastPassed?: boolean;
  lastReason?: string;
}

function toInstance(e: InstanceEntity): Instance {
  return {
    id: e.id,
    nodeId: e.nodeId,
    folderId: e.folderId,
    generation: e.generation,
    state: e.state,
    reason: e.reason,
    runtimeId: e.runtimeId,
    address: e.address,
    startTime: e.startTime,
    restartCount: e.restartCount,
    lastHealthCheck: e.lastHealthCheck ? { ...e.lastHealthCheck, time: new Date(e.lastHealthCheck.time) } : null,
    createTime: e.createTime,
    updateTime: e.updateTime,
  };
}

function summarize(o: ObservedInstance | undefined): ObservedSummary | undefined {
  if (!o) return undefined;
  return { state: o.state === 'running' ? 'running' : o.state === 'missing' ? 'missing' : 'exited', exitReason: o.exitReason };
}

/**
 * The level-triggered reconcile loop. Its queue holds node ids only; each pass
 * reads desired state (database) and observed state (runtime, by label), plans
 * with a pure function and applies idempotent steps. Health probes feed the
 * instance state machine and the routing table.
 */
export class Supervisor {
  private readonly queue = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly watched = new Map<string, Watched>();
  private readonly verifiedImages = new Set<string>();
  private readonly health: HealthMonitor;
  private snapshot: { at: number; list: Promise<ObservedInstance[]> } | undefined;
  /** When the observation used by the current passes was asked for. */
  private observedAt = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly requeueTimers = new Map<string, NodeJS.Timeout>();
  private readonly startedAt = Date.now();
  private stopped = false;
  private leader = false;
  private readonly passes = new Set<Promise<void>>();
  /** Autoscaler state per node: the count it aims at, recent load samples, its last decision. */
  private readonly scaling = new Map<string, { desired: number; samples: number[]; state: ScalingState; decision?: { reason: string; time: Date } }>();
  private scaleTimer: NodeJS.Timeout | undefined;
  private loadOf: (nodeId: string) => number = () => 0;
  private isBusy: (instanceId: string) => boolean = () => false;
  private readonly specOf = new Map<string, NodeSpec>();

  constructor(
    private readonly ctx: ControlContext,
    private readonly runtime: Runtime,
    private readonly specs: SpecSettings,
    private readonly routing: RoutingTable,
    private readonly lock: LeaderLock,
    private readonly log: Logger,
    private readonly options: SupervisorOptions = DEFAULT_SUPERVISOR_OPTIONS,
  ) {
    this.health = new HealthMonitor((id, result) => this.onProbe(id, result), log);
  }

  /**
   * Gives the autoscaler its load signal: requests in flight (running and
   * queued) on a node right now, as the data plane counts them.
   */
  measureLoadWith(loadOf: (nodeId: string) => number, isBusy: (instanceId: string) => boolean = () => false): void {
    this.loadOf = loadOf;
    this.isBusy = isBusy;
  }

  /** Samples every node's load and scales it within its range; decisions show in the node's status. */
  private scaleTick(): void {
    if (!this.leader || this.stopped) return;
    const now = Date.now();
    for (const [nodeId, s] of this.scaling) {
      s.samples.push(this.loadOf(nodeId));
      if (s.samples.length > 3) s.samples.shift();
      const spec = this.specOf.get(nodeId);
      if (!spec) continue;
      const d = decideScale({
        current: s.desired,
        min: spec.instanceRange.min,
        max: spec.instanceRange.max,
        target: spec.autoscaling.targetInFlight,
        inFlight: s.samples.reduce((a, b) => a + b, 0) / s.samples.length,
        stabilizationMs: spec.autoscaling.scaleDownStabilizationMs,
        now,
        state: s.state,
      });
      s.state = d.state;
      if (d.reason && d.desired !== s.desired) {
        s.desired = d.desired;
        s.decision = { reason: d.reason, time: new Date(now) };
        this.log.info({ nodeId, desired: d.desired, reason: d.reason }, 'autoscaling');
        this.enqueue(nodeId);
      }
    }
  }

  /** Starts resyncing; reconciles only while this process holds the leader lock. */
  start(): void {
    this.scaleTimer = setInterval(() => this.scaleTick(), this.options.scaleIntervalMs);
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      try {
        await this.resync();
      } catch (err) {
        this.log.error({ err }, 'resync failed');
      }
      if (!this.stopped) this.resyncTimer = setTimeout(() => void tick(), this.options.resyncMs);
    };
    void tick();
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Called after an API write: reconcile that node soon. */
  notify(nodeId: string): void {
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
      w.state = 'unhealthy';
      w.since = Date.now();
      void this.persistProbe(instanceId, w, { passed: false, reason: `unreachable: ${error.message}` }, true);
    }
    this.enqueue(nodeId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.resyncTimer);
    clearInterval(this.scaleTimer);
    for (const t of this.requeueTimers.values()) clearTimeout(t);
    this.health.close();
    await Promise.allSettled([...this.passes]);
    await this.lock.release();
  }

  private async resync(): Promise<void> {
    if (!this.leader) {
      this.leader = await this.lock.tryAcquire().catch((err: unknown) => {
        this.log.warn({ err }, 'cannot take the supervisor lock');
        return false;
      });
      if (!this.leader) return;
      this.log.info('this process supervises the instances');
    } else if (!this.lock.held()) {
      this.leader = false;
      this.health.close();
      this.watched.clear();
      this.log.warn('lost the supervisor lock; stopped supervising');
      return;
    }
    const em = fork(this.ctx);
    const nodes = await em.find(NodeEntity, {}, { fields: ['id'] });
    const ids = new Set(nodes.map((n) => n.id));
    this.snapshot = undefined;
    for (const o of await this.observed()) ids.add(o.nodeId);
    for (const id of ids) this.enqueue(id);
  }

  private observed(): Promise<ObservedInstance[]> {
    if (!this.snapshot || Date.now() - this.snapshot.at > 500) {
      const list = this.runtime.listInstances();
      this.snapshot = { at: Date.now(), list };
      this.observedAt = this.snapshot.at;
      list.catch(() => {
        this.snapshot = undefined;
      });
    }
    return this.snapshot.list;
  }

  private enqueue(nodeId: string, delayMs = 0): void {
    if (this.stopped || !this.leader) return;
    if (delayMs > 0) {
      if (this.requeueTimers.has(nodeId)) return;
      this.requeueTimers.set(
        nodeId,
        setTimeout(() => {
          this.requeueTimers.delete(nodeId);
          this.enqueue(nodeId);
        }, delayMs),
      );
      return;
    }
    if (this.active.has(nodeId)) {
      this.dirty.add(nodeId);
      return;
    }
    this.queue.add(nodeId);
    this.pump();
  }

  private pump(): void {
    for (const nodeId of this.queue) {
      if (this.active.size >= this.options.concurrency) return;
      this.queue.delete(nodeId);
      this.active.add(nodeId);
      const pass = this.reconcile(nodeId)
        .then((requeueMs) => {
          if (requeueMs !== undefined) this.enqueue(nodeId, requeueMs);
        })
        .catch((err: unknown) => {
          this.log.error({ err, nodeId }, 'reconcile failed; retrying');
          this.enqueue(nodeId, 2000);
        })
        .finally(() => {
          this.passes.delete(pass);
          this.active.delete(nodeId);
          if (this.dirty.delete(nodeId)) this.queue.add(nodeId);
          this.pump();
        });
      this.passes.add(pass);
    }
  }

  /** One pass over one node; returns when to look again, if sooner than the resync. */
  private async reconcile(nodeId: string): Promise<number | undefined> {
    if (this.stopped) return undefined;
    const em = fork(this.ctx);
    const now = this.ctx.now();
    const nodeRow = await em.findOne(NodeEntity, { id: nodeId }, { disableIdentityMap: true });
    // Plain objects, not managed entities: instance rows are written with native updates only,
    // so a probe's write and a pass's write never race through the unit of work.
    const rows = (await em.find(InstanceEntity, { nodeId }, { orderBy: { id: 'asc' } })).map(toInstance);
    em.clear();
    const listedAt = this.observedAt;
    const observed = (await this.observed()).filter((o) => o.nodeId === nodeId);
    const byInstance = new Map(observed.map((o) => [o.instanceId, o]));

    if (!nodeRow) return this.collectOrphans(em, nodeId, rows, observed);

    // Containers of this node that no row owns: removed after the boot grace period.
    for (const o of observed) {
      if (!rows.some((r) => r.id === o.instanceId) && Date.now() - this.startedAt > this.options.orphanGraceMs) {
        this.log.info({ nodeId, instanceId: o.instanceId }, 'removing a container no instance owns');
        await this.runtime.removeInstance(o.instanceId, this.options.stopGraceSeconds);
      }
    }

    const node = toNode(nodeRow);
    // Level-triggered adoption: a running container of a known instance is probed, never recreated.
    for (const r of rows) {
      const o = byInstance.get(r.id);
      if (o?.state === 'running' && o.runtimeId === r.runtimeId && r.state !== 'deleting' && !this.watched.has(r.id)) {
        this.log.info({ nodeId, instanceId: r.id, runtimeId: o.runtimeId }, 'watching a running instance');
        this.watchInstance(node, r, o);
      }
    }
    // A container started after the observation was listed is not missing, only not listed yet.
    const observedSummaries = new Map([...byInstance].map(([id, o]) => [id, summarize(o)!]));
    for (const r of rows) {
      if (!byInstance.has(r.id) && r.startTime && new Date(r.updateTime).getTime() >= listedAt - 1000) observedSummaries.set(r.id, { state: 'running' });
    }
    const statusRow = await em.findOne(NodeStatusEntity, { nodeId });
    const previous: NodeStatus = { ...initialNodeStatus(), ...(statusRow?.status ?? {}) };
    let failure = previous.failure && previous.failure.generation === node.generation ? previous.failure.reason : undefined;

    if (!node.deleting && !node.suspended && !failure) failure = await this.checkStartable(node, previous, rows, now);

    const stuck = new Map<string, string>();
    for (const r of rows) {
      const w = this.watched.get(r.id);
      const limit = r.state === 'preparing' ? Math.max(this.options.unhealthyGraceMs, this.options.startupTimeoutMs) : this.options.unhealthyGraceMs;
      if (w && (w.state === 'unhealthy' || w.state === 'preparing') && Date.now() - w.since > limit) stuck.set(r.id, r.reason || w.state);
    }
    // The autoscaler's count, clamped into the range by the planner; after a restart it starts
    // from the count the status last recorded.
    let scale = this.scaling.get(nodeId);
    if (!scale) this.scaling.set(nodeId, (scale = { desired: previous.desiredInstances || node.spec.instanceRange.min, samples: [], state: { lowSince: null } }));
    // A lowered minimum is followed at once when the autoscaler was only holding the old one.
    const oldMin = this.specOf.get(nodeId)?.instanceRange.min;
    if (oldMin !== undefined && oldMin !== node.spec.instanceRange.min && scale.desired === oldMin) scale.desired = node.spec.instanceRange.min;
    this.specOf.set(nodeId, node.spec);
    const desired = scale.desired;
    const plan = planNode({
      node,
      desired,
      failed: failure !== undefined,
      instances: rows,
      observed: observedSummaries,
      stuck,
    });
    for (const step of plan.steps) {
      try {
        await this.apply(em, node, rows, byInstance, step);
      } catch (err) {
        if (err instanceof ImageUnavailableError) {
          failure = err.message;
          break;
        }
        this.log.warn({ err, nodeId, step }, 'step failed');
      }
    }

    const instances = (await em.find(InstanceEntity, { nodeId }, { orderBy: { id: 'asc' }, disableIdentityMap: true })).map(toInstance);
    for (const i of instances) {
      const w = this.watched.get(i.id);
      if (w && i.state !== 'deleting' && w.runtimeId === i.runtimeId) i.state = w.state;
    }
    this.publishRoute(node, instances);

    if (node.deleting && instances.length === 0) {
      await this.runtime.removeNodeResources(nodeId);
      await finishPending(em, now, nodeId, ['DeleteNode'], { kind: 'response', resource: 'empty', resourceId: nodeId });
      await em.flush();
      await em.nativeDelete(NodeStatusEntity, { nodeId });
      await em.nativeDelete(NodeEntity, { id: nodeId });
      this.routing.delete(nodeId);
      this.scaling.delete(nodeId);
      this.specOf.delete(nodeId);
      this.log.info({ nodeId }, 'node deleted');
      return undefined;
    }

    scale.desired = plan.desired;
    const status = nodeStatusOf({ node, instances, previous, desired: plan.desired, now, failure });
    if (scale.decision) {
      status.lastScalingDecision = scale.decision.reason;
      status.lastScalingTime = scale.decision.time;
    }
    status.failure = failure ? { generation: node.generation, reason: failure } : null;
    if (statusRow) statusRow.status = status;
    else em.create(NodeStatusEntity, { nodeId, status, version: 1 });
    if (status.state !== previous.state || status.reason !== previous.reason)
      this.log.info({ nodeId, state: status.state, reason: status.reason }, 'node status');

    if (failure) {
      await finishPending(em, now, nodeId, ['CreateNode', 'ResumeNode'], { kind: 'error', code: 'FAILED_PRECONDITION', message: failure });
    } else if (status.state === 'healthy') {
      await finishPending(em, now, nodeId, ['CreateNode', 'ResumeNode'], { kind: 'response', resource: 'node', resourceId: nodeId });
    }
    if (node.suspended && instances.length === 0)
      await finishPending(em, now, nodeId, ['SuspendNode'], { kind: 'response', resource: 'node', resourceId: nodeId });
    await em.flush();

    const settled = plan.steps.length === 0 && instances.every((i) => i.state === 'healthy') && !failure;
    return settled ? undefined : 1000;
  }

  /** Reasons a node cannot run at all: no suitable runtime, a missing image, or no health within the startup timeout. */
  private async checkStartable(node: Node, previous: NodeStatus, rows: Instance[], now: Date): Promise<string | undefined> {
    const src = node.spec.source;
    if (src.kind === 'docker' && this.runtime.kind === 'process')
      return 'Docker nodes need a Docker engine, and none answers this Berth (it runs the process runtime)';
    const key = `${node.id}@${node.generation}`;
    if (!this.verifiedImages.has(key)) {
      try {
        if (src.kind === 'checkpoint') await this.specs.checkpoint(src.checkpointId);
        await this.runtime.ensureImage(imageOf(node, this.specs));
        this.verifiedImages.add(key);
      } catch (err) {
        if (err instanceof ImageUnavailableError) return err.message;
        if (err instanceof DomainError) return err.message;
        throw err;
      }
    }
    if (previous.timeToHealthyMs === null && now.getTime() - new Date(node.createTime).getTime() > this.options.startupTimeoutMs) {
      const reasons = [...new Set(rows.map((r) => r.reason).filter(Boolean))].slice(0, 2);
      let output = '';
      const last = rows.find((r) => r.runtimeId);
      if (last) output = (await this.runtime.tailLogs(last.id, 3).catch(() => '')).trim();
      return (
        `no instance became healthy within ${Math.round(this.options.startupTimeoutMs / 1000)}s` +
        (reasons.length > 0 ? `; last health check: ${reasons.join('; ')}` : '') +
        (output ? `; last output: ${output.split('\n').slice(-3).join(' | ')}` : '')
      );
    }
    return undefined;
  }

  private async apply(
    em: EntityManager,
    node: Node,
    rows: Instance[],
    observed: Map<string, ObservedInstance>,
    step: Step,
  ): Promise<void> {
    const now = this.ctx.now();
    if (step.kind === 'remove') {
      const row = rows.find((r) => r.id === step.instanceId);
      this.health.unwatch(step.instanceId);
      this.watched.delete(step.instanceId);
      this.routing.dropBackend(node.id, step.instanceId);
      if (row && row.state !== 'deleting') {
        await em.nativeUpdate(InstanceEntity, { id: row.id }, { state: 'deleting', reason: step.reason, updateTime: now });
        this.log.info({ nodeId: node.id, instanceId: row.id, reason: step.reason }, 'removing instance');
      }
      await this.runtime.removeInstance(step.instanceId, this.options.stopGraceSeconds);
      await em.nativeDelete(InstanceEntity, { id: step.instanceId });
      return;
    }
    let row: Instance | undefined;
    if (step.kind === 'create') {
      row = {
        id: newId('in'),
        nodeId: node.id,
        folderId: node.folderId,
        generation: step.generation,
        state: 'undefined',
        reason: 'starting',
        runtimeId: '',
        address: '',
        startTime: null,
        restartCount: 0,
        lastHealthCheck: null,
        createTime: now,
        updateTime: now,
      };
      // The row exists before the container, so a crash in between leaves nothing unowned.
      await em.insert(InstanceEntity, { ...row, version: 1 });
      rows.push(row);
      this.log.info({ nodeId: node.id, instanceId: row.id, generation: step.generation }, 'creating instance');
    } else {
      row = rows.find((r) => r.id === step.instanceId);
      if (!row) return;
      this.health.unwatch(row.id);
      this.watched.delete(row.id);
      this.routing.dropBackend(node.id, row.id);
      if (row.startTime) {
        this.log.warn({ nodeId: node.id, instanceId: row.id, reason: step.reason }, 'starting instance again');
        await this.runtime.removeInstance(row.id, this.options.stopGraceSeconds);
      }
    }
    const restarted = row.startTime !== null;
    const started = await this.runtime.startInstance(await instanceSpecOf(node, row.id, this.runtime, this.specs));
    observed.set(row.id, started);
    this.snapshot = undefined;
    const endpoint = started.ports[endpointPortOf(node)];
    const state: InstanceState = started.state === 'running' ? 'started' : 'created';
    const fields = {
      state,
      reason: restarted ? `started again: ${step.kind === 'restart' ? step.reason : ''}` : '',
      runtimeId: started.runtimeId,
      address: endpoint ? `${endpoint.host}:${endpoint.port}` : '',
      startTime: started.startedAt ?? now,
      restartCount: row.restartCount + (restarted ? 1 : 0),
      updateTime: now,
    };
    await em.nativeUpdate(InstanceEntity, { id: row.id }, fields);
    Object.assign(row, fields);
    this.watchInstance(node, row, started);
  }

  /** Starts probing an instance (a new one, or one found running after a restart of Berth). */
  private watchInstance(node: Node, row: Instance, o: ObservedInstance): void {
    const hc = healthCheckOf(node);
    const hostPort = o.ports[hc.port];
    const endpoint = o.ports[endpointPortOf(node)];
    if (!hostPort || !endpoint) return;
    const existing = this.watched.get(row.id);
    if (existing && existing.runtimeId === o.runtimeId) return;
    this.watched.set(row.id, {
      nodeId: node.id,
      runtimeId: o.runtimeId,
      host: endpoint.host,
      port: endpoint.port,
      state: row.state === 'healthy' || row.state === 'unhealthy' ? row.state : 'started',
      counters: { passes: 0, fails: 0 },
      since: Date.now(),
      failsThreshold: hc.failsThreshold,
      passesThreshold: hc.passesThreshold,
      lastPersist: 0,
    });
    this.health.watch(
      row.id,
      { type: hc.type, host: hostPort.host, port: hostPort.port, path: hc.path, service: hc.grpcService, timeoutMs: hc.timeoutMs },
      hc.intervalMs,
    );
  }

  private onProbe(instanceId: string, result: ProbeResult): void {
    const w = this.watched.get(instanceId);
    if (!w) return;
    // A checkpoint worker runs one call at a time and answers its health check after it:
    // a probe that timed out behind a long call says nothing about the instance's health.
    if (!result.passed && this.isBusy(instanceId)) return;
    const next = afterProbe(w.state, w.counters, result.passed, w);
    const changed = next.state !== w.state;
    w.counters = next.counters;
    if (changed) {
      this.log.info({ nodeId: w.nodeId, instanceId, from: w.state, to: next.state, reason: result.reason }, 'instance state');
      w.state = next.state;
      w.since = Date.now();
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
    if (changed || news || Date.now() - w.lastPersist > 10_000) void this.persistProbe(instanceId, w, result, changed);
    if (changed) this.enqueue(w.nodeId);
  }

  /** Writes a probe's outcome; guarded by runtime id so a late probe of a replaced container changes nothing. */
  private async persistProbe(instanceId: string, w: Watched, result: ProbeResult, stateChanged: boolean): Promise<void> {
    w.lastPersist = Date.now();
    const now = this.ctx.now();
    try {
      await fork(this.ctx).nativeUpdate(
        InstanceEntity,
        { id: instanceId, runtimeId: w.runtimeId, state: { $ne: 'deleting' } },
        {
          state: w.state,
          // A serving instance keeps no reason; one that does not serve shows its latest failure.
          ...(w.state === 'healthy' ? { reason: '' } : result.passed ? {} : { reason: result.reason }),
          ...(stateChanged ? { updateTime: now } : {}),
          lastHealthCheck: { passed: result.passed, reason: result.reason, time: now },
        },
      );
    } catch (err) {
      this.log.warn({ err, instanceId }, 'cannot record a health check');
    }
  }

  /** The routing table entry of a node: its healthy instances with their loopback addresses. */
  private publishRoute(node: Node, instances: Instance[]): void {
    const src = node.spec.source;
    const backends = instances
      .filter((i) => i.state === 'healthy' && i.address && i.generation <= node.generation)
      .map((i) => {
        const [host, port] = [i.address.slice(0, i.address.lastIndexOf(':')), Number(i.address.slice(i.address.lastIndexOf(':') + 1))];
        return { instanceId: i.id, host, port };
      });
    this.routing.set({
      nodeId: node.id,
      folderId: node.folderId,
      kind: src.kind,
      endpointType: src.kind === 'docker' ? src.endpoint.type : 'http',
      timeoutMs: src.kind === 'docker' ? src.endpoint.timeoutMs : 0,
      idleTimeoutMs: src.kind === 'docker' ? src.endpoint.idleTimeoutMs : 0,
      backends,
      ...(src.kind === 'checkpoint' ? { checkpoint: src } : {}),
    });
  }

  /** A node id with no node row: remove what is left of it, after the boot grace period. */
  private async collectOrphans(em: EntityManager, nodeId: string, rows: Instance[], observed: ObservedInstance[]): Promise<number | undefined> {
    this.routing.delete(nodeId);
    if (Date.now() - this.startedAt < this.options.orphanGraceMs) return this.options.orphanGraceMs;
    for (const o of observed) {
      this.log.info({ nodeId, instanceId: o.instanceId }, 'removing an orphaned container');
      this.health.unwatch(o.instanceId);
      this.watched.delete(o.instanceId);
      await this.runtime.removeInstance(o.instanceId, this.options.stopGraceSeconds);
    }
    if (rows.length > 0) await em.nativeDelete(InstanceEntity, { nodeId });
    // A node deleted without instances (failed, suspended) still has its network.
    await this.runtime.removeNodeResources(nodeId);
    return undefined;
  }
}
