import { LIMITS } from './limits';
import { Violations, checkBytes } from './validation';

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
  /** The image reference the cells ran in (docker runtime); empty under the process runtime. */
  environmentImage: string;
  /** The image id (`sha256:…`) that reference named when the cells ran. */
  environmentImageId: string;
  /** Versions of the packages the captured state needs, by distribution (or top-level module) name. */
  moduleVersions: Record<string, string>;
  createTime: Date;
  version: number;
}

/** The original product pins at most this many checkpoints per folder. */
export const DEFAULT_CHECKPOINT_QUOTA = 10;

/**
 * The sources of a checkpoint: a bounded number of cells of bounded size, so
 * that a capture, the stored row and every answer that lists it stay small.
 */
export function validateCellSources(cells: readonly string[], field = 'cells.cells'): void {
  const v = new Violations();
  if (cells.length > LIMITS.cells) v.add(field, `has ${cells.length} code cells; at most ${LIMITS.cells}`);
  let total = 0;
  cells.slice(0, LIMITS.cells).forEach((cell, i) => (total += checkBytes(v, `${field}[${i}]`, cell, LIMITS.cellSourceBytes)));
  if (total > LIMITS.cellsTotalBytes) v.add(field, `the cells are ${total} bytes together; at most ${LIMITS.cellsTotalBytes}`);
  v.throwIfAny();
}

/** An uploaded notebook is refused by its size before it is parsed. */
export function validateNotebookSize(notebook: string, field = 'notebook'): void {
  const v = new Violations();
  checkBytes(v, field, notebook, LIMITS.notebookBytes);
  v.throwIfAny();
}
