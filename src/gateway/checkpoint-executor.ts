import http from 'node:http';
import type { CheckpointSource, Node } from '../domain/node';
import { checkInputs } from '../domain/variables';
import { asciiText } from '../domain/ascii-text';
import { parseJsonExact, stringifyJson } from '../domain/exact-json';
import {
  DeadlineExceededError,
  FailedPreconditionError,
  QuotaExceededError,
  UnavailableError,
  UserCodeError,
  ValidationError,
} from '../domain/errors';
import type { WireValue } from '../domain/variables';
import { workerAuthorization } from '../checkpoint/worker-token';
import { callDeadline } from './call-deadline';
import { currentCall } from '../observability/observed-call';
import type { RouteBackend, RoutingTable } from './routing-table';
import type { NodeWaker } from './node-waker';

export interface ExecutorOptions {
  /** Calls that may wait per node when every instance is busy; more are refused with RESOURCE_EXHAUSTED. */
  maxQueue: number;
  /** Longest time a call may wait for an instance plus run. */
  timeoutMs: number;
  /** Request and response size limit. */
  maxBytes: number;
  /** Told how long each call waited in the queue for a free instance (0 when one was free at once); for metrics. */
  onWaited?: (nodeId: string, seconds: number) => void;
}

interface Waiter {
  resolve(backend: RouteBackend): void;
  reject(err: Error): void;
}

/** Per node: which instances run a call now, and who waits for one. */
class NodeSlots {
  readonly busy = new Set<string>();
  readonly waiting: Waiter[] = [];
}

interface WorkerAnswer {
  outputs?: Record<string, WireValue>;
  error?: { kind: string; variable?: string; error_name?: string; error_message?: string; traceback?: string[] };
}

/**
 * The size of a call's values as the caller's encoding carries them (close to
 * their protobuf size): text by its UTF-8 bytes, not by its JSON escaping.
 */
function payloadSize(value: WireValue): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value === null || typeof value !== 'object') return 8;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + payloadSize(v) + 1, 0);
  return Object.entries(value).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + payloadSize(v) + 2, 0);
}

/**
 * Runs calls on checkpoint instances. An interpreter runs one call at a time,
 * so each healthy instance is a slot; calls beyond the free slots wait in a
 * bounded per-node queue, never in an unbounded pile.
 */
export class CheckpointExecutor {
  private readonly slots = new Map<string, NodeSlots>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 30_000 });

  constructor(
    private readonly routing: RoutingTable,
    private readonly options: ExecutorOptions,
    /** Reads a node the routing table does not know (throws NotFoundError). */
    private readonly lookup: (nodeId: string) => Promise<Node>,
    /** The token each instance's worker requires on every call. */
    private readonly workerToken: (instanceId: string) => string,
    private readonly onFailure: (nodeId: string, instanceId: string, error: Error) => void = () => undefined,
    /** Counts calls, and holds those to a sleeping node while it wakes; none: such calls get UNAVAILABLE. */
    private readonly waker?: NodeWaker,
  ) {}

  /**
   * One Execute call: the inputs are checked against the declared types
   * before any user code runs, then the served cell runs on a free instance.
   * The routing table answers for running nodes, so a call reads no database.
   */
  async run(nodeId: string, input: Record<string, unknown>, signal?: AbortSignal): Promise<Record<string, WireValue>> {
    let src = this.routing.get(nodeId)?.checkpoint;
    if (!src) {
      const node = await this.lookup(nodeId);
      if (node.spec.source.kind !== 'checkpoint')
        throw new FailedPreconditionError(`node ${nodeId} is a Docker node; call it through the node API with the x-node-id header`, `nodes/${nodeId}`);
      src = node.spec.source;
    }
    return this.execute(nodeId, src, checkInputs(src.inputVariables, input), signal);
  }

  /** Calls in flight on a node right now (for the autoscaler). */
  inFlight(nodeId: string): { running: number; waiting: number } {
    const s = this.slots.get(nodeId);
    return { running: s?.busy.size ?? 0, waiting: s?.waiting.length ?? 0 };
  }

  /** Calls waiting for a free instance, by node (for metrics). */
  queueDepths(): Map<string, number> {
    return new Map([...this.slots].map(([nodeId, s]) => [nodeId, s.waiting.length]));
  }

  /** Whether an instance runs a call now: its health endpoint answers only between calls. */
  isBusy(instanceId: string): boolean {
    for (const s of this.slots.values()) if (s.busy.has(instanceId)) return true;
    return false;
  }

  private slotsOf(nodeId: string): NodeSlots {
    let s = this.slots.get(nodeId);
    if (!s) this.slots.set(nodeId, (s = new NodeSlots()));
    return s;
  }

  private acquire(nodeId: string, exclude: Set<string>, signal?: AbortSignal): Promise<RouteBackend> {
    const backends = this.routing.get(nodeId)?.backends ?? [];
    const usable = backends.filter((b) => !exclude.has(b.instanceId));
    if (usable.length === 0)
      return exclude.size === 0 ? this.wakeOrRefuse(nodeId, signal) : Promise.reject(new UnavailableError(`node ${nodeId} has no healthy instance`));
    const s = this.slotsOf(nodeId);
    const free = usable.filter((b) => !s.busy.has(b.instanceId));
    if (free.length > 0) {
      const b = free[Math.floor(Math.random() * free.length)]!;
      s.busy.add(b.instanceId);
      this.options.onWaited?.(nodeId, 0);
      return Promise.resolve(b);
    }
    if (s.waiting.length >= this.options.maxQueue)
      return Promise.reject(new QuotaExceededError(`node ${nodeId} is busy: ${usable.length} instances run calls and ${s.waiting.length} calls wait; try again later`, `nodes/${nodeId}/queue`));
    if (signal?.aborted) return Promise.reject(new DeadlineExceededError(`the call to node ${nodeId} waited too long for a free instance`));
    return new Promise<RouteBackend>((resolve, reject) => {
      // The listener goes as soon as the wait ends either way: a waiter must not outlive its call.
      const onAbort = (): void => {
        const i = s.waiting.indexOf(waiter);
        if (i >= 0) s.waiting.splice(i, 1);
        reject(new DeadlineExceededError(`the call to node ${nodeId} waited too long for a free instance`));
      };
      const queuedAt = performance.now();
      const waiter: Waiter = {
        resolve: (backend) => {
          signal?.removeEventListener('abort', onAbort);
          this.options.onWaited?.(nodeId, (performance.now() - queuedAt) / 1000);
          resolve(backend);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      s.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Why a node with no healthy instance cannot take a call: FAILED_PRECONDITION
   * naming its state when it will not serve until someone acts (suspended,
   * being deleted), so that clients do not retry; UNAVAILABLE when it is
   * starting or recovering. A node with min 0 is not refused here: it may
   * sleep, and the call may wait for it to wake.
   */
  private async unservable(nodeId: string): Promise<{ maySleep: boolean }> {
    const node = await this.lookup(nodeId);
    if (node.deleting) throw new FailedPreconditionError(`node ${nodeId} is being deleted`, `nodes/${nodeId}`);
    if (node.suspended) throw new FailedPreconditionError(`node ${nodeId} is suspended; resume it (ResumeNode) before calling it`, `nodes/${nodeId}`);
    if (node.spec.instanceRange.min === 0) return { maySleep: true };
    throw new UnavailableError(`node ${nodeId} has no healthy instance yet`);
  }

  /**
   * A call that found no healthy instance: to a node that may sleep, it is
   * held while the node wakes (within the waker's bound and the call's
   * deadline), then takes an instance as any call does; otherwise refused
   * as {@link unservable} says.
   */
  private async wakeOrRefuse(nodeId: string, signal?: AbortSignal): Promise<RouteBackend> {
    const route = this.routing.get(nodeId);
    // The route knows best (a failed node does not sleep); a node the supervisor has not seen yet is read.
    const maySleep = route?.maySleep || (!route && (await this.unservable(nodeId)).maySleep);
    if (!maySleep || !this.waker) {
      await this.unservable(nodeId);
      throw new UnavailableError(`node ${nodeId} has no healthy instance yet`);
    }
    await this.waker.hold(nodeId, signal);
    return this.acquire(nodeId, new Set(), signal);
  }

  private release(nodeId: string, instanceId: string): void {
    const s = this.slotsOf(nodeId);
    s.busy.delete(instanceId);
    const backends = this.routing.get(nodeId)?.backends ?? [];
    while (s.waiting.length > 0) {
      const free = backends.filter((b) => !s.busy.has(b.instanceId));
      if (free.length === 0) {
        if (backends.length === 0) for (const w of s.waiting.splice(0)) w.reject(new UnavailableError(`node ${nodeId} has no healthy instance`));
        return;
      }
      const b = free.find((x) => x.instanceId === instanceId) ?? free[0]!;
      s.busy.add(b.instanceId);
      s.waiting.shift()!.resolve(b);
    }
  }

  /**
   * Runs the served cell once with inputs already checked against their
   * declared types. A call that could not be delivered (connection refused)
   * goes to another instance once.
   */
  async execute(nodeId: string, src: CheckpointSource, inputs: Record<string, WireValue>, signal?: AbortSignal): Promise<Record<string, WireValue>> {
    const body = Buffer.from(
      stringifyJson({
        inputs,
        input_types: Object.fromEntries(src.inputVariables.map((v) => [v.name, v.type])),
        outputs: src.outputVariables,
      }),
    );
    // The caller's request was held to the limit by its transport; this is the worker's JSON,
    // which escaping may make larger, so it gets room for that and no more.
    if (body.length > this.wireLimit())
      throw new QuotaExceededError(`the request is ${body.length} bytes as JSON; the limit is ${this.options.maxBytes} bytes`, 'request_size');
    this.waker?.noteCall(nodeId);
    const deadline = callDeadline(this.options.timeoutMs, signal);
    try {
      return await this.deliver(nodeId, body, deadline.signal);
    } finally {
      deadline.dispose();
    }
  }

  /** Delivers the call to a free instance, and once more to another if the first could not be reached. */
  private async deliver(nodeId: string, body: Buffer, signal: AbortSignal): Promise<Record<string, WireValue>> {
    const exclude = new Set<string>();
    const observed = currentCall();
    for (let attempt = 0; ; attempt++) {
      const backend = await this.acquire(nodeId, exclude, signal);
      let answer: { status: number; body: WorkerAnswer };
      // The worker gets the caller's trace (under a span of this attempt, when spans are recorded).
      const hop = observed?.hop('POST /execute', { 'berth.node_id': nodeId, 'berth.instance_id': backend.instanceId, 'server.address': backend.host, 'server.port': backend.port });
      if (observed !== undefined) {
        observed.nodeId ??= nodeId;
        observed.instanceId = backend.instanceId;
      }
      try {
        answer = await this.post(backend, body, signal, hop?.headers);
        hop?.end();
      } catch (err) {
        hop?.end(err);
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET') {
          this.onFailure(nodeId, backend.instanceId, e);
          exclude.add(backend.instanceId);
          if (attempt === 0) continue;
          throw new UnavailableError(`node ${nodeId}: instance ${backend.instanceId} could not be reached (${e.code})`);
        }
        throw err;
      } finally {
        this.release(nodeId, backend.instanceId);
      }
      const outputs = this.outputsOf(nodeId, answer);
      const size = payloadSize(outputs);
      if (size > this.options.maxBytes)
        throw new QuotaExceededError(`the response is ${size} bytes; the limit is ${this.options.maxBytes} bytes`, 'response_size');
      return outputs;
    }
  }

  /** JSON escaping can make a value up to six times longer; the worker's messages may be that large. */
  private wireLimit(): number {
    return this.options.maxBytes * 6 + 65_536;
  }

  private outputsOf(nodeId: string, answer: { status: number; body: WorkerAnswer }): Record<string, WireValue> {
    const { status, body } = answer;
    if (status === 200 && body.outputs) return body.outputs;
    const e = body.error;
    if (status === 200 && e?.kind === 'user') throw new UserCodeError(e.error_name ?? 'Exception', e.error_message ?? '', e.traceback ?? []);
    if (e?.kind === 'input') throw ValidationError.of(`input.${e.variable ?? ''}`, e.error_message ?? 'is not valid');
    if (e?.kind === 'output')
      throw new FailedPreconditionError(`the served cell's output ${JSON.stringify(e.variable)} does not match its declaration: ${e.error_message}`, `nodes/${nodeId}`, 'OUTPUT');
    throw new UnavailableError(`node ${nodeId}: the worker answered ${status}: ${e?.error_message ?? 'no details'}`);
  }

  private post(backend: RouteBackend, body: Buffer, signal: AbortSignal, trace: Record<string, string> = {}): Promise<{ status: number; body: WorkerAnswer }> {
    const max = this.wireLimit();
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: backend.host,
          port: backend.port,
          method: 'POST',
          path: '/execute',
          agent: this.agent,
          signal,
          headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: workerAuthorization(this.workerToken(backend.instanceId)), ...trace },
        },
        (res) => {
          const declared = Number(res.headers['content-length'] ?? NaN);
          if (declared > max) {
            res.destroy();
            return reject(new QuotaExceededError(`the response is ${declared} bytes as JSON; the limit is ${this.options.maxBytes} bytes`, 'response_size'));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > max) {
              res.destroy();
              reject(new QuotaExceededError(`the response is over the limit of ${this.options.maxBytes} bytes`, 'response_size'));
            } else chunks.push(c);
          });
          res.on('end', () => {
            try {
              const bytes = Buffer.concat(chunks);
              resolve({ status: res.statusCode ?? 500, body: parseJsonExact(asciiText(bytes) ?? bytes.toString('utf8')) as WorkerAnswer });
            } catch (err) {
              reject(new UnavailableError(`the worker sent an answer that is not JSON: ${(err as Error).message}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err) => {
        if (signal.aborted) reject(new DeadlineExceededError(`the call did not finish within ${this.options.timeoutMs} ms`));
        else reject(err);
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
