import { status as Code } from '@grpc/grpc-js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import { httpStatusOf, type StatusError } from '../api/status';
import type { CaptureSandbox } from '../checkpoint/capture-sandbox';
import type { NodeApiCallEvent, NodeApiMetrics } from '../gateway/node-api';
import type { RoutingTable } from '../gateway/routing-table';
import type { Logger } from '../logger';
import type { MetricsRepository } from '../store/metrics.repository';
import { NotFoundError } from '../domain/errors';
import { BERTH_SERVICES, descriptors } from '../api/descriptors';
import { currentCallScope, type CallObserver, type CallScope } from './call-scope';
import { CallSeries } from './call-series';

/** Every control-plane method's gRPC path (`/berth.v1.NodeService/CreateNode`): the only values of `method` labels. */
export function controlPlaneMethods(): Set<string> {
  const { registry } = descriptors();
  return new Set(BERTH_SERVICES.flatMap((name) => registry.getService(name)?.methods.map((m) => `/${name}/${m.name}`) ?? []));
}

/** Durations of calls: from a millisecond to the longest Execute timeout. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Cold starts and captures: a second to ten minutes (an image pull, a long notebook). */
const SLOW_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
/** Wakes from zero: a process instance in a fraction of a second, a Docker one in a few. */
const SLOW_BUCKETS_FROM_ZERO = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

type Labels = Record<string, string>;

/** What Berth's metrics read from the rest of Berth when they are scraped. */
export interface BerthMetricsDeps {
  repo: MetricsRepository;
  routing: RoutingTable;
  /** Every control-plane method's gRPC path: only these become `method` labels (default {@link controlPlaneMethods}). */
  methods?: ReadonlySet<string>;
  log: Logger;
  /** When this Berth started: instances created before it are adopted, not cold-started. */
  startedAt: Date;
}

/**
 * Berth's own metrics, in one prom-client registry served at `GET /metrics`:
 * the seed's `node_*` and `alias_*` series (Prometheus-named), instances by
 * state, cold starts, autoscaler decisions, the Execute queue, captures,
 * control-plane calls, and the process's own metrics.
 *
 * Node ids and alias names become labels only once they name a node or alias
 * that exists (a made-up id in a call never does), and a node's or alias's
 * series are dropped once it is deleted, so the number of series follows the
 * number of nodes.
 */
export class BerthMetrics implements CallObserver {
  readonly registry = new Registry();
  private readonly nodeCalls = new CallSeries('berth_node', 'a node served (Execute, typed APIs, the node API), through an alias or not', CALL_BUCKETS);
  private readonly aliasCalls = new CallSeries('berth_alias', 'made through an alias, by the node that served them', CALL_BUCKETS);
  private readonly apiCalls: Counter;
  private readonly apiDurations: Histogram;
  private readonly coldStarts: Histogram;
  private readonly scaling: Counter;
  private readonly wakes: Histogram;
  private readonly queueWait: Histogram;
  private readonly captures: Histogram;
  /** Series of rare events (cold starts, scaling) that name a node, by node id. */
  private readonly byNode = new Map<string, Map<string, [Metric, Labels]>>();
  /** Instances already seen healthy: only the first time counts as a cold start. */
  private readonly seenHealthy = new Set<string>();
  private queueDepths: () => Map<string, number> = () => new Map();
  private heldCalls: () => Map<string, number> = () => new Map();
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopColdStarts: (() => void) | undefined;
  private readonly methods: ReadonlySet<string>;

  constructor(private readonly deps: BerthMetricsDeps) {
    this.methods = deps.methods ?? controlPlaneMethods();
    const r = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which promtool refuses; the same counts stay by type in `nodejs_active_handles` etc.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    this.nodeCalls.register(this.registry);
    this.aliasCalls.register(this.registry);
    this.apiCalls = new Counter({ name: 'berth_api_calls_total', help: 'Control-plane calls (gRPC and their REST transcoding), by method and gRPC status.', labelNames: ['method', 'transport', 'code'], registers: r });
    this.apiDurations = new Histogram({ name: 'berth_api_call_duration_seconds', help: 'How long control-plane calls took, from the request to the answer.', labelNames: ['method', 'transport'], buckets: CALL_BUCKETS, registers: r });
    this.coldStarts = new Histogram({ name: 'berth_instance_cold_start_seconds', help: 'From the creation of an instance to its first healthy probe (instances this process created).', labelNames: ['folder_id', 'node_id'], buckets: SLOW_BUCKETS, registers: r });
    this.scaling = new Counter({ name: 'berth_autoscaler_decisions_total', help: 'Autoscaler decisions that changed the count of a node, by direction.', labelNames: ['node_id', 'direction'], registers: r });
    this.wakes = new Histogram({ name: 'berth_node_wake_seconds', help: 'From the call that woke a sleeping node (instance_range.min 0) to its first healthy instance: the first call\'s added wait.', labelNames: ['node_id'], buckets: SLOW_BUCKETS_FROM_ZERO, registers: r });
    this.queueWait = new Histogram({ name: 'berth_execute_queue_wait_seconds', help: 'How long Execute calls waited for a free instance of a checkpoint node.', buckets: [0, ...CALL_BUCKETS], registers: r });
    this.captures = new Histogram({ name: 'berth_checkpoint_capture_duration_seconds', help: 'How long captures of checkpoints took, by outcome.', labelNames: ['outcome'], buckets: SLOW_BUCKETS, registers: r });
    const repo = deps.repo;
    const routing = deps.routing;
    const log = deps.log;
    const metrics = this;
    new Gauge({
      name: 'berth_instances',
      help: 'Instances of a node by state, as the database records them.',
      labelNames: ['folder_id', 'node_id', 'state'],
      registers: r,
      async collect() {
        this.reset();
        try {
          for (const c of await repo.instanceCounts()) this.set({ folder_id: c.folderId, node_id: c.nodeId, state: c.state }, c.count);
        } catch (err) {
          log.warn({ err }, 'cannot count instances for /metrics');
        }
      },
    });
    new Gauge({
      name: 'berth_node_wake_held_calls',
      help: 'Calls held now while a sleeping node (instance_range.min 0) starts its first instance.',
      labelNames: ['folder_id', 'node_id'],
      registers: r,
      collect() {
        this.reset();
        for (const [nodeId, held] of metrics.heldCalls()) {
          const folderId = routing.get(nodeId)?.folderId;
          if (folderId !== undefined) this.set({ folder_id: folderId, node_id: nodeId }, held);
        }
      },
    });
    new Gauge({
      name: 'berth_execute_queue_depth',
      help: 'Execute calls waiting for a free instance of a checkpoint node now.',
      labelNames: ['folder_id', 'node_id'],
      registers: r,
      collect() {
        this.reset();
        for (const [nodeId, depth] of metrics.queueDepths()) {
          const folderId = routing.get(nodeId)?.folderId;
          if (folderId !== undefined) this.set({ folder_id: folderId, node_id: nodeId }, depth);
        }
      },
    });
  }

  // --- the data plane ---------------------------------------------------------

  /**
   * The run function of checkpoint nodes, measured: once the node is known
   * (the routing table has it, or the lookup found it), the call's scope
   * names it, and the call is counted when it ends at the chokepoint.
   */
  measureRun<A extends unknown[], R>(run: (nodeId: string, ...rest: A) => Promise<R>, lookupFolder: (nodeId: string) => Promise<string | undefined>): (nodeId: string, ...rest: A) => Promise<R> {
    return async (nodeId, ...rest) => {
      const scope = currentCallScope();
      if (!scope) return run(nodeId, ...rest);
      const named = async (): Promise<void> => {
        const folderId = this.deps.routing.get(nodeId)?.folderId ?? (await lookupFolder(nodeId).catch(() => undefined));
        if (folderId === undefined) return;
        scope.node = { id: nodeId, folderId };
        scope.observer = this;
      };
      try {
        const result = await run(nodeId, ...rest);
        await named();
        return result;
      } catch (err) {
        // A node that does not exist is named by no series.
        if (!(err instanceof NotFoundError)) await named();
        throw err;
      }
    };
  }

  callEnded(label: string, scope: CallScope, error: StatusError | undefined, seconds: number): void {
    try {
      if (this.methods.has(label)) {
        const transport = scope.transport === 'http' ? 'rest' : 'grpc';
        this.apiCalls.inc({ method: label.slice(1), transport, code: Code[error?.code ?? Code.OK] ?? 'UNKNOWN' });
        this.apiDurations.observe({ method: label.slice(1), transport }, seconds);
      }
      if (scope.node === undefined || scope.transport === undefined) return;
      const grpc = scope.transport === 'grpc' ? (error?.code ?? Code.OK) : undefined;
      const httpStatus = scope.transport === 'http' ? (error ? httpStatusOf(error) : 200) : undefined;
      this.countCall(scope.node, scope.alias, grpc, httpStatus, seconds);
    } catch (err) {
      this.deps.log.error({ err }, 'metrics of a call failed');
    }
  }

  /** The node API's hook: Docker nodes' calls, counted once the node they name exists. */
  nodeApiHooks(): NodeApiMetrics {
    return { onCallEnd: (event) => this.nodeApiCallEnded(event) };
  }

  private nodeApiCallEnded(e: NodeApiCallEvent): void {
    if (e.nodeId === undefined) return;
    const folderId = this.deps.routing.get(e.nodeId)?.folderId;
    if (folderId === undefined) return;
    // An alias is named only once it led to an instance: the name the caller sent was one that exists.
    const alias = e.aliasName !== undefined && e.instanceId !== undefined ? { folderId, name: e.aliasName } : undefined;
    if (e.aliasName !== undefined && alias === undefined) return;
    // A call the caller left before its answer: CANCELLED, as grpc-gateway answers it over HTTP (499).
    const grpc = e.grpc ? (e.grpcStatus ?? Code.CANCELLED) : undefined;
    const httpStatus = e.grpc ? undefined : e.httpStatus || 499;
    this.countCall({ id: e.nodeId, folderId }, alias, grpc, httpStatus, e.durationMs / 1000);
  }

  private countCall(node: { id: string; folderId: string }, alias: CallScope['alias'], grpc: number | undefined, httpStatus: number | undefined, seconds: number): void {
    const code = { grpc: grpc === undefined ? undefined : (Code[grpc] ?? String(grpc)), http: httpStatus === undefined ? undefined : String(httpStatus) };
    this.nodeCalls.count(`${node.folderId}/${node.id}`, () => ({ folder_id: node.folderId, node_id: node.id }), code, seconds);
    if (alias) this.aliasCalls.count(`${alias.folderId}/${alias.name}/${node.id}`, () => ({ folder_id: alias.folderId, alias_name: alias.name, node_id: node.id }), code, seconds);
  }

  /** Remembers a series of a rare event by the node it names, to drop it with the node. */
  private track(metric: Metric, labels: Labels): Labels {
    const key = `${(metric as unknown as { name: string }).name}${JSON.stringify(labels)}`;
    let series = this.byNode.get(labels.node_id!);
    if (!series) this.byNode.set(labels.node_id!, (series = new Map()));
    series.set(key, [metric, labels]);
    return labels;
  }

  // --- the supervisor, the executor, captures ----------------------------------

  /** Execute's queue: its depth by node at each scrape, and each call's wait. */
  measureQueue(queueDepths: () => Map<string, number>): (nodeId: string, seconds: number) => void {
    this.queueDepths = queueDepths;
    return (_nodeId, seconds) => this.queueWait.observe(seconds);
  }

  /** Calls held for waking nodes: their count by node at each scrape. */
  measureHeldCalls(heldCalls: () => Map<string, number>): void {
    this.heldCalls = heldCalls;
  }

  /** An autoscaler decision that changed a node's count. */
  scaled(nodeId: string, direction: 'up' | 'down'): void {
    this.scaling.inc(this.track(this.scaling, { node_id: nodeId, direction }));
  }

  /** A sleeping node's wake that ended with an instance serving. */
  woke(nodeId: string, seconds: number): void {
    this.wakes.observe(this.track(this.wakes, { node_id: nodeId }), seconds);
  }

  /**
   * Watches the routing table for instances that join balancing for the first
   * time: an instance this process created (not one adopted after a restart,
   * nor one started again) has then finished its cold start.
   */
  private watchColdStarts(): () => void {
    return this.deps.routing.onChange((nodeId) => {
      const route = this.deps.routing.get(nodeId);
      for (const b of route?.backends ?? []) {
        if (this.seenHealthy.has(b.instanceId)) continue;
        this.seenHealthy.add(b.instanceId);
        const healthyAt = Date.now();
        void this.deps.repo
          .instanceStart(b.instanceId)
          .then((row) => {
            if (!row || row.restartCount > 0 || row.createTime < this.deps.startedAt) return;
            const labels = this.track(this.coldStarts, { folder_id: row.folderId, node_id: nodeId });
            this.coldStarts.observe(labels, Math.max(0, (healthyAt - row.createTime.getTime()) / 1000));
          })
          .catch((err: unknown) => this.deps.log.warn({ err, instanceId: b.instanceId }, 'cannot read an instance for its cold start'));
      }
    });
  }

  /** The capture sandbox, with each capture's duration measured by outcome. */
  measureCaptures(sandbox: CaptureSandbox): CaptureSandbox {
    const captures = this.captures;
    return {
      kind: sandbox.kind,
      async capture(request) {
        const end = captures.startTimer();
        try {
          const result = await sandbox.capture(request);
          end({ outcome: result.ok ? 'ok' : request.signal?.aborted ? 'cancelled' : 'failed' });
          return result;
        } catch (err) {
          end({ outcome: request.signal?.aborted ? 'cancelled' : 'failed' });
          throw err;
        }
      },
      probe: (environment, modules) => sandbox.probe(environment, modules),
      isPresent: (environment) => sandbox.isPresent(environment),
    };
  }

  // --- scrapes ----------------------------------------------------------------

  /** Drops the series of nodes and aliases that no longer exist, and forgets instances that are gone. */
  async prune(): Promise<void> {
    const nodeIds = [...new Set([...this.byNode.keys(), ...this.nodeCalls.labelSets().map((l) => l.node_id!), ...this.aliasCalls.labelSets().map((l) => l.node_id!)])];
    if (nodeIds.length > 0) {
      const existing = await this.deps.repo.existingNodes(nodeIds);
      for (const id of nodeIds) if (!existing.has(id)) this.dropNode(id);
    }
    const aliasOf = (l: Labels) => `${l.folder_id}/${l.alias_name}`;
    const aliasKeys = [...new Set(this.aliasCalls.labelSets().map(aliasOf))];
    if (aliasKeys.length > 0) {
      const existing = await this.deps.repo.existingAliases(aliasKeys);
      this.aliasCalls.drop((l) => !existing.has(aliasOf(l)));
    }
    if (this.seenHealthy.size > 0) {
      const live = await this.deps.repo.existingInstances([...this.seenHealthy]);
      for (const id of this.seenHealthy) if (!live.has(id)) this.seenHealthy.delete(id);
    }
  }

  /** Removes every series that names the node. */
  private dropNode(nodeId: string): void {
    for (const [metric, labels] of this.byNode.get(nodeId)?.values() ?? []) (metric as Counter).remove(labels);
    this.byNode.delete(nodeId);
    this.nodeCalls.drop((l) => l.node_id === nodeId);
    this.aliasCalls.drop((l) => l.node_id === nodeId);
  }

  /**
   * Starts watching for cold starts, and pruning every `intervalMs` as well,
   * so that series of deleted nodes go even when nobody scrapes.
   */
  start(intervalMs = 60_000): void {
    this.stopColdStarts ??= this.watchColdStarts();
    this.pruneTimer = setInterval(() => void this.prune().catch((err: unknown) => this.deps.log.warn({ err }, 'cannot prune metrics')), intervalMs);
    this.pruneTimer.unref();
  }

  stop(): void {
    this.stopColdStarts?.();
    this.stopColdStarts = undefined;
    clearInterval(this.pruneTimer);
  }

  /** The exposition of every Berth metric, after dropping series of what was deleted. */
  async text(): Promise<string> {
    await this.prune().catch((err: unknown) => this.deps.log.warn({ err }, 'cannot prune metrics'));
    return this.registry.metrics();
  }
}
