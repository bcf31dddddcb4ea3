export type CheckpointState = 'capturing' | 'ready' | 'failed';
export type CapturedVariableKind = 'value' | 'definition' | 'module';

export interface CapturedVariable {
  name: string;
  typeName: string;
  kind: CapturedVariableKind;
}

export interface Checkpoint {
  id: string;
  folderId: string;
  name: string;
  description: string;
  cellSources: string[];
  servedCellIndex: number;
  state: CheckpointState;
  /** `sha256:<hex>` of the captured blob; empty until captured. */
  digest: string;
  sizeBytes: number;
  pythonVersion: string;
  variables: CapturedVariable[];
  createTime: Date;
  version: number;
}

/** The original product pins at most this many checkpoints per folder. */
export const DEFAULT_CHECKPOINT_QUOTA = 10;
