import {
  CapturedVariableKind,
  CheckpointState as StateProto,
  type Checkpoint as CheckpointProto,
} from '../../gen/berth/v1/checkpoint';
import type { CapturedVariableKind as Kind, Checkpoint, CheckpointState } from '../domain/checkpoint';
import { etagOf } from '../store/translate';
import { enumTo } from './common.mapper';

const STATES: Record<CheckpointState, number> = {
  capturing: StateProto.CHECKPOINT_STATE_CAPTURING,
  ready: StateProto.CHECKPOINT_STATE_READY,
  failed: StateProto.CHECKPOINT_STATE_FAILED,
};
const KINDS: Record<Kind, number> = {
  value: CapturedVariableKind.CAPTURED_VARIABLE_KIND_VALUE,
  definition: CapturedVariableKind.CAPTURED_VARIABLE_KIND_DEFINITION,
  module: CapturedVariableKind.CAPTURED_VARIABLE_KIND_MODULE,
};

export function checkpointToProto(c: Checkpoint): CheckpointProto {
  return {
    id: c.id,
    folderId: c.folderId,
    name: c.name,
    description: c.description,
    cellSources: c.cellSources,
    servedCellIndex: c.servedCellIndex,
    state: enumTo(c.state, STATES),
    digest: c.digest,
    sizeBytes: c.sizeBytes,
    pythonVersion: c.pythonVersion,
    variables: c.variables.map((v) => ({ name: v.name, typeName: v.typeName, kind: enumTo(v.kind, KINDS) })),
    createTime: c.createTime,
    etag: etagOf(c.version),
    environmentImage: c.environmentImage,
    environmentImageId: c.environmentImageId,
    moduleVersions: { ...c.moduleVersions },
  };
}
