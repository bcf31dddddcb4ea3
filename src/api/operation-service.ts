import { OperationServiceService } from '../../gen/berth/v1/operation_service';
import type { Nodes } from '../control/nodes';
import type { Operations } from '../control/operations';
import type { ServiceHandlers } from './adapter';
import { durationToMs } from './common.mapper';
import { operationView } from './operation-view';

const DEFAULT_WAIT_MS = 30_000;

export function operationService(operations: Operations, nodes: Nodes): ServiceHandlers<typeof OperationServiceService> {
  return {
    async getOperation(req) {
      return operationView(await operations.get(req.operationId), nodes);
    },
    async listOperations(req) {
      const page = await operations.list(req.folderId, req, req.filter);
      return { operations: await Promise.all(page.items.map((op) => operationView(op, nodes))), nextPageToken: page.nextPageToken };
    },
    async waitOperation(req, ctx) {
      const timeoutMs = req.timeout ? durationToMs(req.timeout) : DEFAULT_WAIT_MS;
      return operationView(await operations.wait(req.operationId, timeoutMs, ctx.signal), nodes);
    },
    async cancelOperation(req) {
      return operationView(await operations.cancel(req.operationId), nodes);
    },
  };
}
