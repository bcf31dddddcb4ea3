import { DateTimeType, EntitySchema } from '@mikro-orm/core';

/** One line an instance printed, or one event of a node as a line of stream `event`. */
export class NodeLogLineEntity {
  /** Collection order: see `node-log.repository.ts` for how ids are made. */
  id!: string;
  nodeId!: string;
  instanceId!: string;
  stream!: string;
  time!: Date;
  text!: string;
  /** The line's size in UTF-8, for the per-node size bound. */
  bytes!: number;
}

export const NodeLogLineSchema = new EntitySchema<NodeLogLineEntity>({
  class: NodeLogLineEntity,
  tableName: 'node_log_lines',
  indexes: [{ name: 'node_log_lines_node_index', properties: ['nodeId', 'id'] }],
  properties: {
    id: { type: 'string', primary: true, length: 32 },
    nodeId: { type: 'string', length: 64 },
    instanceId: { type: 'string', length: 64 },
    stream: { type: 'string', length: 8 },
    time: { type: DateTimeType },
    text: { type: 'text' },
    bytes: { type: 'integer' },
  },
});

/** A node's event, like a Kubernetes event. */
export class NodeEventEntity {
  id!: string;
  nodeId!: string;
  instanceId!: string;
  time!: Date;
  type!: string;
  reason!: string;
  message!: string;
}

export const NodeEventSchema = new EntitySchema<NodeEventEntity>({
  class: NodeEventEntity,
  tableName: 'node_events',
  indexes: [{ name: 'node_events_node_index', properties: ['nodeId', 'id'] }],
  properties: {
    id: { type: 'string', primary: true, length: 32 },
    nodeId: { type: 'string', length: 64 },
    instanceId: { type: 'string', length: 64 },
    time: { type: DateTimeType },
    type: { type: 'string', length: 16 },
    reason: { type: 'string', length: 64 },
    message: { type: 'text' },
  },
});

/**
 * How far the collector has read an instance's output, written in the same
 * transaction as the lines it read: a restarted Berth (or a new leader)
 * goes on from there, neither losing nor repeating lines.
 */
export class LogCursorEntity {
  instanceId!: string;
  nodeId!: string;
  /** The container id or pid the position belongs to: a new run starts from its beginning. */
  runtimeId!: string;
  position!: string;
  updateTime!: Date;
}

export const LogCursorSchema = new EntitySchema<LogCursorEntity>({
  class: LogCursorEntity,
  tableName: 'log_cursors',
  properties: {
    instanceId: { type: 'string', primary: true, length: 64 },
    nodeId: { type: 'string', length: 64, index: 'log_cursors_node_index' },
    runtimeId: { type: 'string', length: 128 },
    position: { type: 'string', length: 128 },
    updateTime: { type: DateTimeType },
  },
});
