import { status as Code } from '@grpc/grpc-js';
import type { Any } from '../../gen/google/protobuf/any';
import type { Operation as OperationProto } from '../../gen/berth/v1/operation';
import { CheckpointOperationMetadata, NodeOperationMetadata } from '../../gen/berth/v1/operation';
import type { Operation } from '../domain/operation';

/** Packs a ts-proto message into an Any. */
export function pack<T>(typeName: string, fns: { encode(message: T): { finish(): Uint8Array } }, message: T): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(fns.encode(message).finish()) };
}

/**
 * Operations store their result as data; the response resource is read when
 * the operation is shown (`loadResponse`), so it is never stale or duplicated.
 */
export function operationToProto(op: Operation, response?: Any): OperationProto {
  const isCheckpoint = op.description === 'CreateCheckpoint';
  const proto: OperationProto = {
    id: op.id,
    folderId: op.folderId,
    description: op.description,
    resourceId: op.resourceId,
    createTime: op.createTime,
    modifyTime: op.modifyTime,
    done: op.done,
    metadata: isCheckpoint
      ? pack('berth.v1.CheckpointOperationMetadata', CheckpointOperationMetadata, { checkpointId: op.resourceId, progress: op.progress })
      : pack('berth.v1.NodeOperationMetadata', NodeOperationMetadata, { nodeId: op.resourceId, progress: op.progress }),
  };
  if (op.result.kind === 'error') proto.error = { code: Code[op.result.code], message: op.result.message, details: [] };
  else if (op.result.kind === 'response') proto.response = response ?? { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) };
  return proto;
}
