import type { Operation as OperationProto } from '../../gen/berth/v1/operation';
import { Node as NodeProto } from '../../gen/berth/v1/node';
import type { Nodes } from '../control/nodes';
import type { Checkpoints } from '../control/checkpoints';
import { Checkpoint as CheckpointProto } from '../../gen/berth/v1/checkpoint';
import { checkpointToProto } from './checkpoint.mapper';
import { NotFoundError } from '../domain/errors';
import type { Operation } from '../domain/operation';
import { nodeToProto } from './node.mapper';
import { operationToProto, pack } from './operation.mapper';

/**
 * Shows an operation with its response resource as it is now; a resource
 * deleted since is shown as Empty.
 */
export async function operationView(op: Operation, nodes: Nodes, checkpoints?: Checkpoints): Promise<OperationProto> {
  if (op.result.kind !== 'response') return operationToProto(op);
  const { resource, resourceId } = op.result;
  try {
    if (resource === 'node') return operationToProto(op, pack('berth.v1.Node', NodeProto, nodeToProto(await nodes.get(resourceId))));
    if (resource === 'checkpoint' && checkpoints)
      return operationToProto(op, pack('berth.v1.Checkpoint', CheckpointProto, checkpointToProto(await checkpoints.get(resourceId))));
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  return operationToProto(op);
}
