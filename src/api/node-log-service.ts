import type { NodeServiceService } from '../../gen/berth/v1/node_service';
import type { NodeEvent as NodeEventProto, NodeLogEntry } from '../../gen/berth/v1/node_log';
import type { NodeLogBook } from '../control/node-logs';
import type { NodeEvent, NodeLogLine } from '../domain/node-log';
import type { ServiceHandlers } from './adapter';
import { required } from './common.mapper';

type LogHandlers = Pick<ServiceHandlers<typeof NodeServiceService>, 'listNodeLogs' | 'streamNodeLogs' | 'listNodeEvents'>;

export function logEntryToProto(line: NodeLogLine): NodeLogEntry {
  return { id: line.id, nodeId: line.nodeId, instanceId: line.instanceId, stream: line.stream, time: line.time, text: line.text };
}

export function nodeEventToProto(event: NodeEvent): NodeEventProto {
  return { ...event };
}

/** NodeService's log and event methods (the rest are in `node-service.ts`). */
export function nodeLogHandlers(book: NodeLogBook): LogHandlers {
  return {
    async listNodeLogs(req) {
      const page = await book.list(required(req.nodeId, 'node_id'), req, req);
      return { entries: page.items.map(logEntryToProto), nextPageToken: page.nextPageToken };
    },
    async streamNodeLogs(req, ctx, send) {
      await book.stream(required(req.nodeId, 'node_id'), req, ctx.signal, (line) => send(logEntryToProto(line)), ctx.opened);
    },
    async listNodeEvents(req) {
      const page = await book.listEvents(required(req.nodeId, 'node_id'), req, req);
      return { events: page.items.map(nodeEventToProto), nextPageToken: page.nextPageToken };
    },
  };
}
