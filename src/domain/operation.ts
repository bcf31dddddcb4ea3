/** What an operation made or why it failed, stored as data, encoded by the API. */
export type OperationResult =
  | { kind: 'pending' }
  | { kind: 'response'; resource: 'node' | 'checkpoint' | 'empty'; resourceId: string }
  | { kind: 'error'; code: OperationErrorCode; message: string };

export type OperationErrorCode =
  | 'CANCELLED'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'DEADLINE_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type OperationKind =
  | 'CreateNode'
  | 'DeleteNode'
  | 'SuspendNode'
  | 'ResumeNode'
  | 'CreateCheckpoint';

export interface Operation {
  id: string;
  folderId: string;
  description: OperationKind;
  resourceId: string;
  createTime: Date;
  modifyTime: Date;
  done: boolean;
  /** Set when someone asked to cancel; the worker of the operation honours it. */
  cancelRequested: boolean;
  result: OperationResult;
  /**
   * What long work on a pending operation is doing now, for people ("building
   * system image berth-python:latest (2/5): …"); empty when nothing is said and once done.
   */
  progress: string;
  version: number;
}

