import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { isDeepStrictEqual } from 'node:util';
import { backoffDelayMs, crashLoopRestart, type CrashLoop } from '../domain/backoff';
import { DomainError } from '../domain/errors';
import type { Instance } from '../domain/instance';
import type { OperationKind } from '../domain/operation';
import type { InstanceState, Node, NodeStatus, StartAttempt } from '../domain/node';
import { attemptDeadlineMs, attemptTimedOut, nodeStatusOf, startAttemptOf } from '../domain/node-status';
import { planNode, stepGroups, type ObservedSummary, type Step } from '../domain/planner';
import type { RoutingTable } from '../gateway/routing-table';
import type { Logger } from '../logger';
import { ImageUnavailableError, type ObservedInstance, type Runtime } from '../runtime/runtime';
import type { InstanceRepository } from '../store/instance.repository';
import { newId } from '../store/ids';
import type { AutoscalerTick } from './autoscaler-tick';
import type { Clock } from './clock';
import type { InstanceHealth } from './instance-health';
import { endpointPortOf, imageOf, instanceSpecOf, registryAuthOf, secretEnvOf, type SpecSettings } from './instance-spec';
import { CrashRecorder } from './crash-recorder';
import { ImagePreparations } from './image-preparations';
import { ProgressThrottle } from '../domain/progress-throttle';
import { fingerprintOf } from './resync-fingerprint';
import { routeOf } from './route-of';
import { Requeue } from './requeue';
import type { ReconcileResult } from './work-queue';

export interface ReconcilerOptions {
  /** A node that does not become healthy this long after its generation or resume began fails. */
  startupTimeoutMs: number;
  /** An instance unhealthy for longer than this is started again. */
  unhealthyGraceMs: number;
  /** Containers nobody owns are removed only this long after start, so that a restart adopts first. */
  orphanGraceMs: number;
  /** SIGTERM → SIGKILL grace when stopping an instance. */
  stopGraceSeconds: number;
  /** An instance healthy this long before it died starts a new crash-loop count. */
  crashLoopResetMs: number;
}

/** What the runtime says about one instance, reduced to what planning needs; an exit in the words of `crash`, when noted. */
function summarize(o: ObservedInstance, crash: string | undefined): ObservedSummary {
  const exitReason = crash ?? o.exitReason;
  return { state: o.state === 'running' ? 'running' : o.state === 'missing' ? 'missing' : 'exited', ...(exitReason ? { exitReason } : {}) };
}

/** JSON values compared as the database hands them back (dates as strings, keys in any order). */
function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
}

/** How often a node whose instances are not all healthy is looked at, besides the events that wake it. */
const TRANSITION_LOOK_MS = 5000;

/** How often a node waiting for its image (a system image build) is looked at. */
const IMAGE_LOOK_MS = 2000;

/**
 * The reconcile function (controller-runtime's `Reconcile(ctx, req)`): one
 * level-triggered pass over one node. It reads desired state (database) and
 * observed state (the runtime, listed by the node's label), adopts what runs,
 * plans with a pure function, applies idempotent steps, writes the node's
 * status when it changed, and says when to look again — or throws, and the
 * work queue retries with backoff.
 *
 * Intent first: an instance row (with its id, which names the container or
 * process) is written before the runtime is asked to create anything, so a
 * Berth killed at any point finds on restart either the row and its running
 * instance (adopted) or the row alone (started, idempotently by id).
 */
export class NodeReconciler {
  /** Per instance: deaths in a row and the last start, for the crash-loop backoff. */
  private readonly crashLoops = new Map<string, CrashLoop>();
  /** Per instance: how it last exited, and how often in a row. */
  private readonly crashes: CrashRecorder;
  /** Per node: the attempt whose image and checkpoint were found present. */
  private readonly verified = new Map<string, string>();
  /** Per settled node: its {@link fingerprintOf} at the end of its last pass (no steps, nothing due). */
  private readonly settled = new Map<string, string>();
  /** Images made ready off the pass (a system image build takes minutes). */
  private readonly images: ImagePreparations;
  /** Which image progress lines reach the waiting operations. */
  private readonly progress = new ProgressThrottle();

  constructor(
    private readonly repo: InstanceRepository,
    private readonly runtime: Runtime,
    private readonly specs: SpecSettings,
    private readonly routing: RoutingTable,
    private readonly health: InstanceHealth,
    private readonly autoscaler: AutoscalerTick,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: ReconcilerOptions,
    /** When this supervisor started leading: orphans are collected only after the grace period. */
    private readonly ledSince: () => number,
    private readonly events: NodeEventSink = NO_EVENTS,
  ) {
    this.crashes = new CrashRecorder(runtime, log, events);
    this.images = new ImagePreparations(runtime, () => clock.now());
  }

  /** Drops what is remembered about a node that is gone. */
  forget(nodeId: string): void {
    this.verified.delete(nodeId);
    this.settled.delete(nodeId);
    this.progress.forget(nodeId);
    this.autoscaler.forget(nodeId);
    this.routing.delete(nodeId);
  }

  /** Whether a node is as its last pass left it, settled: the full resync need not look at it again. */
  unchanged(nodeId: string, fingerprint: string): boolean {
    return this.settled.get(nodeId) === fingerprint;
  }

  /** Forgets every settled fingerprint (after the lead changed hands, say): the next resync looks at every node. */
  unsettleAll(): void {
    this.settled.clear();
  }

  async reconcile(nodeId: string): Promise<ReconcileResult> {
    this.settled.delete(nodeId);
    const result = await this.pass(nodeId);
    return result;
  }

  private async pass(nodeId: string): Promise<ReconcileResult> {
    const supervised = await this.repo.supervisedNode(nodeId);
    const rows = await this.repo.instances(nodeId);
    // Listed after the rows: whatever a row names and runs is in this list.
    const observed = await this.runtime.listInstances(nodeId);
    const byInstance = new Map(observed.map((o) => [o.instanceId, o]));
    const seenRows = rows.map((r) => ({ id: r.id, state: r.state, runtimeId: r.runtimeId, generation: r.generation }));
    const nowMs = this.clock.now();
    const now = new Date(nowMs);
    const requeue = new Requeue();

    if (!supervised) return this.collectGone(nodeId, rows, observed, nowMs);
    const { node, status: previous } = supervised;

    // Instances of this node that no row owns (their row was deleted under a create in flight).
    const orphanWaitMs = this.ledSince() + this.options.orphanGraceMs - nowMs;
    for (const o of observed) {
      if (rows.some((r) => r.id === o.instanceId)) continue;
      if (orphanWaitMs > 0) requeue.after(orphanWaitMs);
      else {
        this.log.info({ nodeId, instanceId: o.instanceId }, 'removing an instance no row owns');
        await this.runtime.removeInstance(o.instanceId, this.options.stopGraceSeconds);
      }
    }

    // Level-triggered adoption: a running instance of a row is recorded in the row and probed, never recreated.
    for (const r of rows) {
      const o = byInstance.get(r.id);
      if (r.state === 'deleting' || o?.state !== 'running') continue;
      if (r.runtimeId !== o.runtimeId || r.state === 'undefined' || r.state === 'created') await this.adopt(node, r, o, now);
      if (!this.health.isWatching(r.id, o.runtimeId)) {
        this.log.info({ nodeId, instanceId: r.id, runtimeId: o.runtimeId }, 'watching a running instance');
        this.health.watch(node, r.id, r.state, o);
      }
    }
    // What probes and exits say, over what the rows last recorded.
    for (const r of rows) {
      if (r.state === 'deleting') continue;
      const o = byInstance.get(r.id);
      if (o?.state === 'running') {
        const probed = this.health.stateOf(r.id, o.runtimeId);
        if (probed) r.state = probed.state;
      } else if (r.state !== 'undefined' && r.state !== 'unhealthy') {
        // Dead: whatever the row last said, it serves nothing now.
        this.health.unwatch(nodeId, r.id);
        r.state = 'unhealthy';
      }
    }
    // An exit's last words are read now: the steps below remove or restart what printed them.
    await this.crashes.note(nodeId, rows, byInstance);

    const pending = await this.repo.pendingOperations(nodeId);
    const resumeAskedAt = pending.filter((op) => op.kind === 'ResumeNode').reduce<Date | undefined>((t, op) => (t && t > op.createTime ? t : op.createTime), undefined);
    const attempt = startAttemptOf(node, previous, now, resumeAskedAt);
    const sameAttempt = attempt !== null && previous.attempt !== null && new Date(previous.attempt.since).getTime() === attempt.since.getTime();
    if (attempt && !sameAttempt) {
      this.log.info({ nodeId, generation: attempt.generation }, 'start attempt begins');
      this.events.record({ nodeId, reason: 'RolloutStarted', message: `generation ${attempt.generation} is being started` });
    }
    let failure = sameAttempt && previous.failure?.generation === node.generation ? previous.failure.reason : undefined;
    let preparing: string | undefined;
    if (attempt && !failure) ({ failure, preparing } = await this.startFailure(node, attempt, rows, now));
    // Every instance crashed again and again: the attempt fails now, with their last words, not at the timeout.
    if (attempt && !attempt.reached && !failure && !preparing) failure = this.crashes.failureOf(node.generation, rows);
    if (attempt && preparing) {
      // The startup timeout counts from when the image is there, not through its build.
      attempt.since = now;
      requeue.after(IMAGE_LOOK_MS);
    }
    const deadline = attemptDeadlineMs(attempt, now, this.options.startupTimeoutMs);
    if (deadline !== undefined && !failure) requeue.after(deadline + 1);

    const stuck = new Map<string, string>();
    for (const r of rows) {
      const o = byInstance.get(r.id);
      const probed = o?.state === 'running' ? this.health.stateOf(r.id, o.runtimeId) : undefined;
      if (!probed || probed.state !== 'unhealthy') continue;
      const left = probed.since + this.options.unhealthyGraceMs - nowMs;
      if (left <= 0) stuck.set(r.id, r.reason || 'unhealthy');
      else requeue.after(left);
    }

    const desired = this.autoscaler.desiredFor(nodeId, node.spec, previous.desiredInstances);
    const observedSummaries = new Map([...byInstance].map(([id, o]) => [id, summarize(o, this.crashes.exitOf(id, o.runtimeId))]));
    const plan = planNode({ node, desired, failed: failure !== undefined, instances: rows, observed: observedSummaries, stuck });
    // Nothing starts before its image is there.
    if (preparing) plan.steps = plan.steps.filter((step) => step.kind === 'remove');
    // Before steps that may take a while (stopping, starting): a node that lost its health says so at once.
    let written = previous;
    if (plan.steps.length > 0) {
      const interim = this.statusOf(node, rows, previous, plan.desired, now, failure, attempt, preparing);
      if (interim.state !== previous.state) written = await this.writeStatus(nodeId, interim, previous);
    }
    let stepError: unknown;
    let imageGone: ImageUnavailableError | undefined;
    for (const group of stepGroups(plan.steps)) {
      const outcomes = await Promise.allSettled(group.map((step) => this.apply(node, rows, step, nowMs)));
      outcomes.forEach((o, k) => {
        if (o.status === 'fulfilled') o.value !== undefined && requeue.after(o.value);
        else if (o.reason instanceof ImageUnavailableError) imageGone = o.reason;
        else {
          this.log.warn({ err: o.reason, nodeId, step: group[k] }, 'step failed');
          stepError ??= o.reason;
        }
      });
      if (imageGone) {
        failure = imageGone.message;
        break;
      }
    }

    // After steps, what they wrote; without steps, the rows as this pass already knows them.
    const instances = plan.steps.length > 0 ? await this.repo.instances(nodeId) : rows.map((r) => ({ ...r }));
    for (const i of instances) {
      if (i.state === 'deleting') continue;
      // Probe results are written behind the probes; a death seen in this pass may not be written at all.
      const probed = this.health.stateOf(i.id, i.runtimeId);
      if (probed) i.state = probed.state;
      else if (rows.find((r) => r.id === i.id && r.runtimeId === i.runtimeId)?.state === 'unhealthy') i.state = 'unhealthy';
    }
    this.routing.set(routeOf(node, instances, failure !== undefined));

    if (node.deleting && instances.length === 0) {
      await this.runtime.removeNodeResources(nodeId);
      await this.repo.removeNode(nodeId, now);
      this.forget(nodeId);
      this.log.info({ nodeId }, 'node deleted');
      return {};
    }

    this.autoscaler.settle(nodeId, desired, plan.desired);
    const status = this.statusOf(node, instances, written, plan.desired, now, failure, attempt, preparing);
    // A woken node serves: its wake's time, the first call's wait, goes into the status.
    const wakeMs = instances.some((i) => i.state === 'healthy') ? this.autoscaler.woke(nodeId) : undefined;
    if (wakeMs !== undefined) status.lastWake = { durationMs: wakeMs, time: now };
    await this.writeStatus(nodeId, status, written);

    const finish = (kinds: OperationKind[]) => pending.filter((op) => kinds.includes(op.kind)).map((op) => op.id);
    // The image's progress in the waiting operations' metadata; cleared once the image is there.
    if (this.progress.take(nodeId, preparing ?? '', nowMs)) await this.repo.writeProgress(finish(['CreateNode', 'ResumeNode']), preparing ?? '');
    if (failure) {
      await this.repo.finishOperations(finish(['CreateNode', 'ResumeNode']), now, { kind: 'error', code: 'FAILED_PRECONDITION', message: failure });
    } else if (status.state === 'healthy') {
      await this.repo.finishOperations(finish(['CreateNode', 'ResumeNode']), now, { kind: 'response', resource: 'node', resourceId: nodeId });
    }
    if (node.suspended && instances.length === 0)
      await this.repo.finishOperations(finish(['SuspendNode']), now, { kind: 'response', resource: 'node', resourceId: nodeId });

    if (stepError) throw stepError;
    // Probes and exits wake a node in transition; a slow look now and then makes sure nothing
    // is left unwatched (an instance that was not yet visible as running when it started, say).
    if (instances.some((i) => i.state !== 'healthy' && i.state !== 'deleting')) requeue.after(TRANSITION_LOOK_MS);
    const result = requeue.result();
    if (plan.steps.length === 0 && result.requeueAfterMs === undefined && !node.deleting)
      this.settled.set(nodeId, fingerprintOf(node.version, seenRows, observed, pending.map((op) => op.id)));
    return result;
  }

  /** The node's status from its instances, with the autoscaler's last decision and the attempt's verdict. */
  private statusOf(
    node: Node,
    instances: Instance[],
    previous: NodeStatus,
    desired: number,
    now: Date,
    failure: string | undefined,
    attempt: StartAttempt | null,
    preparing?: string,
  ): NodeStatus {
    const crashing = this.crashes.crashingOf(node.generation, instances);
    const status = nodeStatusOf({ node, instances, previous, desired, now, ...(failure ? { failure } : {}), ...(crashing ? { crashing } : {}) });
    if (preparing && status.state !== 'healthy') {
      status.reason = preparing;
      status.conditions = status.conditions.map((c) => (c.type === 'Ready' ? { ...c, message: preparing } : c));
    }
    const decision = this.autoscaler.lastDecision(node.id);
    if (decision) {
      status.lastScalingDecision = decision.reason;
      status.lastScalingTime = decision.time;
    }
    status.failure = failure ? { generation: node.generation, reason: failure } : null;
    status.attempt = attempt;
    if (attempt && !attempt.reached && !failure && status.state === 'healthy') {
      const fresh = instances.filter((i) => i.state === 'healthy' && i.generation === node.generation).length;
      if (fresh >= node.spec.instanceRange.min) status.attempt = { ...attempt, reached: true };
    }
    return status;
  }

  /** Writes the status when it says something new (at rest, nothing is written). */
  private async writeStatus(nodeId: string, status: NodeStatus, previous: NodeStatus): Promise<NodeStatus> {
    if (sameJson(status, previous)) return previous;
    await this.repo.writeStatus(nodeId, status);
    if (status.state !== previous.state || status.reason !== previous.reason)
      this.log.info({ nodeId, state: status.state, reason: status.reason }, 'node status');
    if (status.state !== previous.state)
      this.events.record({ nodeId, type: status.state === 'unhealthy' ? 'Warning' : 'Normal', reason: 'NodeStatus', message: `${status.state}${status.reason ? `: ${status.reason}` : ''}` });
    return status;
  }

  /** A running instance its row does not name yet (Berth stopped between create and record): record it. */
  private async adopt(node: Node, row: Instance, o: ObservedInstance, now: Date): Promise<void> {
    const endpoint = o.ports[endpointPortOf(node)];
    const fields = {
      state: 'started' as InstanceState,
      runtimeId: o.runtimeId,
      address: endpoint ? `${endpoint.host}:${endpoint.port}` : '',
      startTime: o.startedAt ?? now,
      updateTime: now,
    };
    this.log.info({ nodeId: node.id, instanceId: row.id, runtimeId: o.runtimeId }, 'adopting a running instance');
    await this.repo.update(row.id, fields, { notDeleting: true });
    Object.assign(row, fields);
  }

  /**
   * Reasons the attempt cannot succeed: no suitable runtime, a missing image
   * or checkpoint, or no health within the startup timeout from the start of
   * the attempt. Or, while the image is being made (the system image is built
   * on first use), what is being done about it: the attempt waits for it.
   */
  private async startFailure(node: Node, attempt: StartAttempt, rows: Instance[], now: Date): Promise<{ failure?: string; preparing?: string }> {
    const src = node.spec.source;
    if (src.kind === 'docker' && this.runtime.kind === 'process')
      return { failure: 'Docker nodes need a Docker engine, and none answers this Berth (it runs the process runtime)' };
    const key = `${attempt.generation}@${attempt.since.getTime()}`;
    if (this.verified.get(node.id) !== key) {
      try {
        if (src.kind === 'checkpoint') await this.specs.checkpoint(src.checkpointId);
        // Refused at CreateNode; a node stored before (or an engine that lost its GPU runtime) fails with the reason.
        const gpuUnavailable = node.spec.configuration.gpu > 0 ? (await this.runtime.capabilities()).gpuUnavailable : undefined;
        if (gpuUnavailable) return { failure: `the node asks for ${node.spec.configuration.gpu} GPU(s), but ${gpuUnavailable}` };
        // The secrets open (right key file, entries there) before any instance needs them.
        await secretEnvOf(node, this.specs);
        const image = await imageOf(node, this.specs);
        const readiness = await this.images.readiness(image, await registryAuthOf(node, this.specs), attempt.since.getTime());
        if (!readiness.ready) return { preparing: readiness.progress || `waiting for the image ${image}` };
        this.verified.set(node.id, key);
      } catch (err) {
        if (err instanceof ImageUnavailableError || err instanceof DomainError) return { failure: err.message };
        throw err;
      }
    }
    if (!attemptTimedOut(attempt, now, this.options.startupTimeoutMs)) return {};
    const reasons = [...new Set(rows.map((r) => r.reason).filter(Boolean))].slice(0, 2);
    let output = '';
    const last = rows.find((r) => r.runtimeId);
    if (last) output = (await this.runtime.tailLogs(last.id, 3).catch(() => '')).trim();
    return {
      failure:
        `no instance became healthy within ${Math.round(this.options.startupTimeoutMs / 1000)}s` +
        (reasons.length > 0 ? `; last health check: ${reasons.join('; ')}` : '') +
        (output ? `; last output: ${output.split('\n').slice(-3).join(' | ')}` : ''),
    };
  }

  /** Applies one step; returns how long until it can go on, when it must wait (crash-loop backoff). */
  private async apply(node: Node, rows: Instance[], step: Step, nowMs: number): Promise<number | undefined> {
    const now = new Date(nowMs);
    if (step.kind === 'remove') {
      const row = rows.find((r) => r.id === step.instanceId);
      this.health.forget(node.id, step.instanceId);
      if (row && row.state !== 'deleting') {
        await this.repo.update(row.id, { state: 'deleting', reason: step.reason, updateTime: now });
        this.log.info({ nodeId: node.id, instanceId: row.id, reason: step.reason }, 'removing instance');
        this.events.record({ nodeId: node.id, instanceId: row.id, reason: 'InstanceRemoved', message: step.reason });
      }
      await this.runtime.removeInstance(step.instanceId, this.options.stopGraceSeconds);
      await this.repo.delete(step.instanceId);
      this.crashLoops.delete(step.instanceId);
      this.crashes.forget(step.instanceId);
      return undefined;
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
      // Intent first: the row exists before the container or process it names.
      await this.repo.insert(row);
      rows.push(row);
      this.log.info({ nodeId: node.id, instanceId: row.id, generation: step.generation }, 'creating instance');
      this.events.record({ nodeId: node.id, instanceId: row.id, reason: 'InstanceCreated', message: `for generation ${step.generation}` });
    } else {
      row = rows.find((r) => r.id === step.instanceId);
      if (!row) return undefined;
      if (row.startTime) {
        const loop = this.crashLoops.get(row.id);
        if (loop && loop.diedAtMs === undefined) loop.diedAtMs = nowMs;
        const decision = crashLoopRestart(loop, nowMs, this.health.healthyForMs(row.id), this.options.crashLoopResetMs);
        this.health.unwatch(node.id, row.id);
        if (decision.waitMs > 0) {
          const delay = backoffDelayMs(decision.failures) / 1000;
          const reason = `${step.reason}; crash loop: restart ${row.restartCount + 1} waits ${delay} s after the exit${this.crashes.lastWordsOf(row.id, row.runtimeId)}`;
          if (row.state !== 'unhealthy' || row.reason !== reason) {
            await this.repo.update(row.id, { state: 'unhealthy', reason, updateTime: now }, { notDeleting: true });
            row.state = 'unhealthy';
            row.reason = reason;
          }
          return decision.waitMs;
        }
        this.crashLoops.set(row.id, { failures: decision.failures });
        this.log.warn({ nodeId: node.id, instanceId: row.id, reason: step.reason, failures: decision.failures }, 'starting instance again');
        await this.runtime.removeInstance(row.id, this.options.stopGraceSeconds);
      }
    }
    const restarted = row.startTime !== null;
    if (!restarted) this.crashLoops.set(row.id, { failures: 0 });
    const lastWords = restarted ? this.crashes.lastWordsOf(row.id, row.runtimeId) : '';
    const started = await this.runtime.startInstance(await instanceSpecOf(node, row.id, this.runtime, this.specs));
    const endpoint = started.ports[endpointPortOf(node)];
    const fields = {
      state: (started.state === 'running' ? 'started' : 'created') as InstanceState,
      reason: restarted ? `started again: ${step.kind === 'restart' ? step.reason : ''}${lastWords}` : '',
      runtimeId: started.runtimeId,
      address: endpoint ? `${endpoint.host}:${endpoint.port}` : '',
      startTime: started.startedAt ?? now,
      restartCount: row.restartCount + (restarted ? 1 : 0),
      updateTime: new Date(this.clock.now()),
    };
    await this.repo.update(row.id, fields, { notDeleting: true });
    Object.assign(row, fields);
    this.events.record(
      restarted
        ? { nodeId: node.id, instanceId: row.id, type: 'Warning', reason: 'InstanceRestarted', message: `restart ${fields.restartCount}: ${fields.reason}` }
        : { nodeId: node.id, instanceId: row.id, reason: 'InstanceStarted', message: `${started.runtimeId}${fields.address ? ` at ${fields.address}` : ''}` },
    );
    if (started.state === 'running') this.health.watch(node, row.id, row.state, started);
    return undefined;
  }

  /** A node id with no node row: remove what is left of it, after the grace period. */
  private async collectGone(nodeId: string, rows: Instance[], observed: ObservedInstance[], nowMs: number): Promise<ReconcileResult> {
    this.forget(nodeId);
    for (const r of rows) this.health.forget(nodeId, r.id);
    // A node deleted without instances (failed, suspended) still has its network.
    if (rows.length === 0 && observed.length === 0) {
      await this.runtime.removeNodeResources(nodeId);
      return {};
    }
    const waitMs = this.ledSince() + this.options.orphanGraceMs - nowMs;
    if (waitMs > 0) return { requeueAfterMs: waitMs };
    for (const o of observed) {
      this.log.info({ nodeId, instanceId: o.instanceId }, 'removing an instance of a deleted node');
      this.health.forget(nodeId, o.instanceId);
      await this.runtime.removeInstance(o.instanceId, this.options.stopGraceSeconds);
      this.crashLoops.delete(o.instanceId);
      this.crashes.forget(o.instanceId);
    }
    if (rows.length > 0) await this.repo.deleteAllOf(nodeId);
    await this.runtime.removeNodeResources(nodeId);
    return {};
  }
}
