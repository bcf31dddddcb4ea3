import { ValidationError } from './errors';
import { quoted } from './validation';

/** Where a line came from: an instance's stdout or stderr, or one of the node's events. */
export type LogStream = 'stdout' | 'stderr' | 'event';
export const LOG_STREAMS: readonly LogStream[] = ['stdout', 'stderr', 'event'];

/** One collected line of a node. */
export interface NodeLogLine {
  id: string;
  nodeId: string;
  /** Empty for an event about the node as a whole. */
  instanceId: string;
  stream: LogStream;
  time: Date;
  text: string;
}

export type NodeEventType = 'Normal' | 'Warning';

/** Something that happened to a node or one of its instances. */
export interface NodeEvent {
  id: string;
  nodeId: string;
  instanceId: string;
  time: Date;
  type: NodeEventType;
  /** A CamelCase word (InstanceExited, Scaled, …). */
  reason: string;
  message: string;
}

/** What an event says before it is stored. */
export type NodeEventNews = Pick<NodeEvent, 'nodeId' | 'reason' | 'message'> & Partial<Pick<NodeEvent, 'instanceId' | 'type'>>;

/** Which lines a listing or a stream wants. */
export interface LogFilter {
  instanceId?: string;
  stream?: LogStream;
  startTime?: Date;
  endTime?: Date;
  contains?: string;
}

/** The longest text a `contains` filter may hold. */
export const MAX_CONTAINS_CHARS = 256;
/** The most lines a stream starts with. */
export const MAX_TAIL_LINES = 10_000;
/** The lines a stream starts with when the caller names neither a time nor a count. */
export const DEFAULT_TAIL_LINES = 100;
/** A line longer than this is cut (and says so): one runaway line must not fill a node's share. */
export const MAX_LINE_BYTES = 16 * 1024;

/** The filter of a request, checked: each bad field is named. */
export function logFilterOf(req: { instanceId?: string; stream?: string; startTime?: Date; endTime?: Date; contains?: string }): LogFilter {
  const filter: LogFilter = {};
  if (req.instanceId) {
    if (!/^[a-z0-9-]{1,64}$/.test(req.instanceId)) throw ValidationError.of('instance_id', `${quoted(req.instanceId)} is not an instance id`);
    filter.instanceId = req.instanceId;
  }
  if (req.stream) {
    if (!(LOG_STREAMS as readonly string[]).includes(req.stream)) throw ValidationError.of('stream', `${quoted(req.stream)} is not a stream; use one of ${LOG_STREAMS.join(', ')}`);
    filter.stream = req.stream as LogStream;
  }
  if (req.startTime) filter.startTime = validTime(req.startTime, 'start_time');
  if (req.endTime) filter.endTime = validTime(req.endTime, 'end_time');
  if (filter.startTime && filter.endTime && filter.endTime.getTime() <= filter.startTime.getTime())
    throw ValidationError.of('end_time', `is ${filter.endTime.toISOString()}, not after start_time ${filter.startTime.toISOString()}`);
  if (req.contains) {
    if (req.contains.length > MAX_CONTAINS_CHARS) throw ValidationError.of('contains', `is ${req.contains.length} characters long; at most ${MAX_CONTAINS_CHARS}`);
    filter.contains = req.contains;
  }
  return filter;
}

function validTime(time: Date, field: string): Date {
  const ms = time.getTime();
  // Timestamps in the four-digit years only, as protobuf's JSON mapping has them.
  if (!Number.isFinite(ms) || time.getUTCFullYear() > 9999 || time.getUTCFullYear() < 1)
    throw ValidationError.of(field, 'is not a time between the years 1 and 9999');
  return time;
}

/** How many lines a stream starts with. */
export function tailLinesOf(tailLines: number, startTime: Date | undefined): number {
  if (!Number.isInteger(tailLines) || tailLines < 0 || tailLines > MAX_TAIL_LINES) throw ValidationError.of('tail_lines', `is ${tailLines}; must be from 0 to ${MAX_TAIL_LINES}`);
  if (tailLines > 0) return tailLines;
  return startTime ? MAX_TAIL_LINES : DEFAULT_TAIL_LINES;
}

/** A line cut to {@link MAX_LINE_BYTES} in UTF-8, without a trailing carriage return. */
export function boundedLine(text: string): string {
  const line = text.endsWith('\r') ? text.slice(0, -1) : text;
  if (Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  return Buffer.from(line).subarray(0, MAX_LINE_BYTES).toString('utf8').replace(/\uFFFD$/, '') + ' … [line cut]';
}

/** Splits text into its complete lines; what follows the last newline is returned apart. */
export function splitLines(text: string): { lines: string[]; rest: string } {
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts, rest };
}

/**
 * Where the supervisor and the control plane tell what happened to a node.
 * Recording never fails the caller and never waits for the database: an
 * event lost to a database outage costs less than a reconcile pass that stops.
 */
export interface NodeEventSink {
  record(news: NodeEventNews): void;
}

/** Records nothing: for pieces built without a sink. */
export const NO_EVENTS: NodeEventSink = { record() {} };
