import { ValidationError } from '../domain/errors';
import { OperationServiceService } from '../../gen/berth/v1/operation_service';
import type { Nodes } from '../control/nodes';
import type { Operations } from '../control/operations';
import type { Checkpoints } from '../control/checkpoints';
import type { ServiceHandlers } from './adapter';
import { durationToMs, required } from './common.mapper';
import { operationView } from './operation-view';

const DEFAULT_WAIT_MS = 30_000;

export function operationService(operations: Operations, nodes: Nodes, checkpoints: Checkpoints): ServiceHandlers<typeof OperationServiceService> {
  return {
    async getOperation(req) {
      return operationView(await operations.get(required(req.operationId, 'operation_id')), nodes, checkpoints);
    },
    async listOperations(req) {
      const page = await operations.list(required(req.folderId, 'folder_id'), req, req.filter);
      return { operations: await Promise.all(page.items.map((op) => operationView(op, nodes, checkpoints))), nextPageToken: page.nextPageToken };
    },
    async waitOperation(req, ctx) {
      const timeoutMs = req.timeout ? durationToMs(req.timeout, 'timeout') : DEFAULT_WAIT_MS;
      if (timeoutMs < 0) throw ValidationError.of('timeout', `is ${timeoutMs / 1000}s; a wait cannot be negative`);
      return operationView(await operations.wait(required(req.operationId, 'operation_id'), timeoutMs, ctx.signal), nodes, checkpoints);
    },
    async cancelOperation(req) {
      const op = await operations.cancel(required(req.operationId, 'operation_id'));
      checkpoints.cancelCapture(op.id);
      return operationView(op, nodes, checkpoints);
    },
  };
}
