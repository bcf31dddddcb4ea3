import { raw, type EntityManager, type FilterQuery, type MikroORM } from '@mikro-orm/core';
import { randomBytes } from 'node:crypto';
import type { Page, PageRequest } from '../domain/listing';
import type { LogFilter, LogStream, NodeEvent, NodeEventNews, NodeLogLine } from '../domain/node-log';
import { LogCursorEntity, NodeEventEntity, NodeLogLineEntity } from './entities/node-log.entity';
import { listPage } from './paging';
import { base32 } from './ids';

/**
 * Ids of lines and events, in the order this process wrote them: the
 * millisecond first, then a counter within it (then a little randomness, so
 * that two processes never make the same id). A follower of a stream reads
 * "every id above the last one sent", which needs this order.
 */
class LogIds {
  private lastMs = 0;
  private counter = 0;

  next(prefix: 'lg' | 'ev'): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.counter = 0;
    } else {
      this.counter++;
    }
    return prefix + base32(BigInt(this.lastMs), 9) + base32(BigInt(this.counter), 5) + base32(BigInt('0x' + randomBytes(3).toString('hex')), 4);
  }
}

/** Where the collector stopped reading one instance's output. */
export interface LogCursor {
  instanceId: string;
  nodeId: string;
  runtimeId: string;
  position: string;
}

/** A line to store, before it has its id. */
export type NewLogLine = Omit<NodeLogLine, 'id'>;

/**
 * Instances' output lines, nodes' events (also kept as lines of stream
 * `event`, so that one query reads both in order) and the collector's
 * cursors. Writes of lines and their cursor are one transaction.
 */
export class NodeLogRepository {
  private readonly ids = new LogIds();

  constructor(private readonly orm: MikroORM) {}

  private em(): EntityManager {
    return this.orm.em.fork({ clear: true });
  }

  async cursorOf(instanceId: string): Promise<LogCursor | undefined> {
    const row = await this.em().findOne(LogCursorEntity, { instanceId }, { disableIdentityMap: true });
    return row ? { instanceId: row.instanceId, nodeId: row.nodeId, runtimeId: row.runtimeId, position: row.position } : undefined;
  }

  async cursors(): Promise<LogCursor[]> {
    const rows = await this.em().find(LogCursorEntity, {}, { disableIdentityMap: true });
    return rows.map((row) => ({ instanceId: row.instanceId, nodeId: row.nodeId, runtimeId: row.runtimeId, position: row.position }));
  }

  async dropCursor(instanceId: string): Promise<void> {
    await this.em().nativeDelete(LogCursorEntity, { instanceId });
  }

  /** Stores lines read from an instance and how far it was read, together. */
  async append(lines: NewLogLine[], cursor: LogCursor, now: Date): Promise<void> {
    await this.em().transactional(async (em) => {
      if (lines.length > 0) await em.insertMany(NodeLogLineEntity, lines.map((l) => this.row(l)));
      const found = await em.findOne(LogCursorEntity, { instanceId: cursor.instanceId });
      if (found) await em.nativeUpdate(LogCursorEntity, { instanceId: cursor.instanceId }, { runtimeId: cursor.runtimeId, position: cursor.position, updateTime: now });
      else await em.insert(LogCursorEntity, { ...cursor, updateTime: now });
    });
  }

  /** Stores an event, and the same as a line of stream `event`. */
  async insertEvent(news: NodeEventNews, time: Date): Promise<NodeEvent> {
    const event: NodeEvent = {
      id: this.ids.next('ev'),
      nodeId: news.nodeId,
      instanceId: news.instanceId ?? '',
      time,
      type: news.type ?? 'Normal',
      reason: news.reason,
      message: news.message,
    };
    const text = `${event.type} ${event.reason}${event.instanceId ? ` ${event.instanceId}` : ''}: ${event.message}`;
    await this.em().transactional(async (em) => {
      await em.insert(NodeEventEntity, { ...event });
      await em.insert(NodeLogLineEntity, this.row({ nodeId: event.nodeId, instanceId: event.instanceId, stream: 'event', time, text }));
    });
    return event;
  }

  private row(line: NewLogLine): NodeLogLineEntity {
    return { ...line, id: this.ids.next('lg'), bytes: Buffer.byteLength(line.text) };
  }

  private where(nodeId: string, filter: LogFilter): Record<string, unknown> {
    const where: Record<string, unknown> = { nodeId };
    if (filter.instanceId) where.instanceId = filter.instanceId;
    if (filter.stream) where.stream = filter.stream;
    const time: Record<string, Date> = {};
    if (filter.startTime) time.$gte = filter.startTime;
    if (filter.endTime) time.$lt = filter.endTime;
    if (Object.keys(time).length > 0) where.time = time;
    // A plain substring on both dialects, with no wildcard to escape: the text changes when the part is taken out.
    if (filter.contains) where[raw('replace(text, ?, ?)', [filter.contains, ''])] = { $ne: raw('text') };
    return where;
  }

  /** A page of lines, oldest first. */
  async list(nodeId: string, filter: LogFilter, page: PageRequest, query: string): Promise<Page<NodeLogLine>> {
    const { items, nextPageToken } = await listPage(this.em(), NodeLogLineEntity, this.where(nodeId, filter), page, query);
    return { items: items.map(toLine), nextPageToken };
  }

  /** Up to `limit` lines after the line `afterId` (from the oldest when undefined), oldest first. */
  async after(nodeId: string, filter: LogFilter, afterId: string | undefined, limit: number): Promise<NodeLogLine[]> {
    const where = this.where(nodeId, filter);
    if (afterId !== undefined) where.id = { $gt: afterId };
    const rows = await this.em().find(NodeLogLineEntity, where as FilterQuery<NodeLogLineEntity>, { orderBy: { id: 'asc' }, limit, disableIdentityMap: true });
    return rows.map(toLine);
  }

  /** The last `count` lines, oldest first. */
  async last(nodeId: string, filter: LogFilter, count: number): Promise<NodeLogLine[]> {
    const rows = await this.em().find(NodeLogLineEntity, this.where(nodeId, filter) as FilterQuery<NodeLogLineEntity>, {
      orderBy: { id: 'desc' },
      limit: count,
      disableIdentityMap: true,
    });
    return rows.map(toLine).reverse();
  }

  /** A page of events, oldest first (events have no stream or text to filter by). */
  async listEvents(nodeId: string, filter: LogFilter, page: PageRequest, query: string): Promise<Page<NodeEvent>> {
    const where = this.where(nodeId, { instanceId: filter.instanceId, startTime: filter.startTime, endTime: filter.endTime });
    const { items, nextPageToken } = await listPage(this.em(), NodeEventEntity, where, page, query);
    return { items: items.map((r) => ({ ...r, type: r.type as NodeEvent['type'] })), nextPageToken };
  }

  /**
   * Applies the retention bounds: lines and events older than `before` go,
   * then each node's oldest lines beyond `maxBytes` and oldest events beyond
   * `maxEvents`. Returns how many lines were removed.
   */
  async trim(before: Date, maxBytes: number, maxEvents: number): Promise<number> {
    const em = this.em();
    let removed = await em.nativeDelete(NodeLogLineEntity, { time: { $lt: before } });
    await em.nativeDelete(NodeEventEntity, { time: { $lt: before } });
    const sizes = (await em.getConnection().execute(`select node_id, sum(bytes) as total from node_log_lines group by node_id`)) as Array<{ node_id: string; total: number | string }>;
    for (const { node_id: nodeId, total } of sizes) {
      if (Number(total) <= maxBytes) continue;
      // The newest line whose running total (newest first) goes over the bound: it and everything older go.
      const [cut] = (await em.getConnection().execute(
        `select id from (select id, sum(bytes) over (order by id desc) as running from node_log_lines where node_id = ?) as sized where running > ? order by id desc limit 1`,
        [nodeId, maxBytes],
      )) as Array<{ id: string }>;
      if (cut) removed += await em.nativeDelete(NodeLogLineEntity, { nodeId, id: { $lte: cut.id } });
    }
    const counts = (await em.getConnection().execute(`select node_id, count(*) as n from node_events group by node_id`)) as Array<{ node_id: string; n: number | string }>;
    for (const { node_id: nodeId, n } of counts) {
      if (Number(n) <= maxEvents) continue;
      const [cut] = await em.find(NodeEventEntity, { nodeId }, { orderBy: { id: 'desc' }, offset: maxEvents, limit: 1, fields: ['id'] });
      if (cut) await em.nativeDelete(NodeEventEntity, { nodeId, id: { $lte: cut.id } });
    }
    return removed;
  }
}

function toLine(row: NodeLogLineEntity): NodeLogLine {
  return { id: row.id, nodeId: row.nodeId, instanceId: row.instanceId, stream: row.stream as LogStream, time: row.time, text: row.text };
}
