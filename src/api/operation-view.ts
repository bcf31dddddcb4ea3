import type { Operation as OperationProto } from '../../gen/berth/v1/operation';
import { Node as NodeProto } from '../../gen/berth/v1/node';
import type { Nodes } from '../control/nodes';
import { NotFoundError } from '../domain/errors';
import type { Operation } from '../domain/operation';
import { nodeToProto } from './node.mapper';
import { operationToProto, pack } from './operation.mapper';

/**
 * Shows an operation with its response resource as it is now; a resource
 * deleted since is shown as Empty.
 */
export async function operationView(op: Operation, nodes: Nodes): Promise<OperationProto> {
  if (op.result.kind === 'response' && op.result.resource === 'node') {
    try {
      const node = await nodes.get(op.result.resourceId);
      return operationToProto(op, pack('berth.v1.Node', NodeProto, nodeToProto(node)));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return operationToProto(op);
}
