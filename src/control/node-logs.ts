import type { Page, PageRequest } from '../domain/listing';
import { logFilterOf, tailLinesOf, type NodeEvent, type NodeEventNews, type NodeEventSink, type NodeLogLine } from '../domain/node-log';
import type { Logger } from '../logger';
import type { Runtime } from '../runtime/runtime';
import { NodeLogRepository } from '../store/node-log.repository';
import { LogCollector } from '../supervisor/log-collector';
import { LogDrainingRuntime } from '../supervisor/log-draining-runtime';
import type { ControlContext } from './context';

export interface NodeLogOptions {
  /** Instance output kept per node, in bytes; the oldest lines go first. */
  bytesPerNode: number;
  /** Lines and events older than this go. */
  hours: number;
  /** Events kept per node. */
  eventsPerNode?: number;
  /** How often instance output is collected (and a followed stream looks for new lines). */
  collectIntervalMs?: number;
  /** How often the retention bounds are applied. */
  trimIntervalMs?: number;
}

/** What a caller asks of a node's lines. */
export interface LogRequest {
  instanceId?: string;
  stream?: string;
  startTime?: Date;
  endTime?: Date;
  contains?: string;
}

const FOLLOW_BATCH = 500;

/**
 * A node's logs and events: collected from the runtime by the leader into
 * the database (lines outlive instances and restarts, and every Berth
 * process on the database serves them), bounded per node by size and age,
 * listed, streamed and followed. It is also the sink the supervisor and the
 * control plane record events into. Why the database rather than files:
 * several Berth processes may share one database, and each must answer for
 * every node, whichever process collected its lines.
 */
export class NodeLogBook implements NodeEventSink {
  private readonly repo: NodeLogRepository;
  private readonly collector: LogCollector;
  /** The runtime the supervisor and the garbage collector get: it collects an instance's output before removing it. */
  readonly runtime: Runtime;
  private isLeader: () => boolean = () => false;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();

  constructor(
    private readonly ctx: ControlContext,
    runtime: Runtime,
    private readonly options: NodeLogOptions,
    private readonly log: Logger,
    /** Throws NotFoundError when there is no such node (or the caller may not see it). */
    private readonly nodeExists: (nodeId: string) => Promise<unknown>,
  ) {
    this.repo = new NodeLogRepository(ctx.orm);
    this.collector = new LogCollector(runtime, this.repo, () => this.isLeader(), log, { intervalMs: this.collectIntervalMs() });
    this.runtime = new LogDrainingRuntime(runtime, this.collector);
  }

  private collectIntervalMs(): number {
    return this.options.collectIntervalMs ?? 250;
  }

  /** Collects and trims while `isLeader` says this process leads. */
  start(isLeader: () => boolean): void {
    this.isLeader = isLeader;
    this.collector.start();
    this.trimTimer = setInterval(() => void this.trim(), this.options.trimIntervalMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.closing.abort();
    clearInterval(this.trimTimer);
    await this.collector.stop();
    await Promise.allSettled([...this.pending]);
  }

  /** Applies the retention bounds (the leader does, once a minute). */
  async trim(): Promise<void> {
    if (!this.isLeader()) return;
    try {
      const before = new Date(this.ctx.now().getTime() - this.options.hours * 3_600_000);
      await this.repo.trim(before, this.options.bytesPerNode, this.options.eventsPerNode ?? 1000);
    } catch (err) {
      this.log.warn({ err }, 'cannot apply the log retention bounds');
    }
  }

  record(news: NodeEventNews): void {
    const write = this.repo.insertEvent(news, this.ctx.now()).catch((err: unknown) => this.log.warn({ err, nodeId: news.nodeId, reason: news.reason }, 'cannot record a node event'));
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** A page of a node's lines, oldest first. */
  async list(nodeId: string, req: LogRequest, page: PageRequest): Promise<Page<NodeLogLine>> {
    const filter = logFilterOf(req);
    await this.nodeExists(nodeId);
    return this.repo.list(nodeId, filter, page, `logs|${nodeId}|${JSON.stringify(filter)}`);
  }

  /** A page of a node's events, oldest first. */
  async listEvents(nodeId: string, req: Pick<LogRequest, 'instanceId' | 'startTime' | 'endTime'>, page: PageRequest): Promise<Page<NodeEvent>> {
    const filter = logFilterOf(req);
    await this.nodeExists(nodeId);
    return this.repo.listEvents(nodeId, filter, page, `events|${nodeId}|${JSON.stringify(filter)}`);
  }

  /**
   * Sends a node's lines from `startTime` or its last `tailLines`, then
   * (follow) each new one as it is collected, until `signal` aborts or Berth stops.
   */
  async stream(
    nodeId: string,
    req: LogRequest & { tailLines: number; follow: boolean },
    signal: AbortSignal,
    send: (line: NodeLogLine) => Promise<void>,
    opened: () => void = () => {},
  ): Promise<void> {
    const filter = logFilterOf({ ...req, endTime: undefined });
    const tail = tailLinesOf(req.tailLines, filter.startTime);
    await this.nodeExists(nodeId);
    opened();
    let last: string | undefined;
    if (filter.startTime) {
      for (let sent = 0; sent < tail; ) {
        const lines = await this.repo.after(nodeId, filter, last, Math.min(FOLLOW_BATCH, tail - sent));
        for (const line of lines) await send(line);
        sent += lines.length;
        if (lines.length > 0) last = lines[lines.length - 1]!.id;
        if (lines.length < FOLLOW_BATCH) break;
      }
    } else {
      const lines = await this.repo.last(nodeId, filter, tail);
      for (const line of lines) await send(line);
      last = lines[lines.length - 1]?.id ?? (await this.repo.last(nodeId, {}, 1))[0]?.id;
    }
    if (!req.follow) return;
    // Lines reach the database from whichever process leads; every process serves them by looking again.
    const stopped = AbortSignal.any([signal, this.closing.signal]);
    while (!stopped.aborted) {
      const lines = await this.repo.after(nodeId, filter, last, FOLLOW_BATCH);
      for (const line of lines) await send(line);
      if (lines.length > 0) last = lines[lines.length - 1]!.id;
      if (lines.length < FOLLOW_BATCH) await sleep(this.collectIntervalMs(), stopped);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
