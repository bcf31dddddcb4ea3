import type { EntityManager } from '@mikro-orm/core';
import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import type { Operation, OperationKind, OperationResult } from '../domain/operation';
import { OperationEntity } from '../store/entities/operation.entity';
import { newId } from '../store/ids';
import { listPage, whereOf } from '../store/paging';
import { translateWrite } from '../store/translate';
import { fork, type ControlContext } from './context';
import type { Folders } from './folders';

export function toOperation(e: OperationEntity): Operation {
  return {
    id: e.id,
    folderId: e.folderId,
    description: e.description,
    resourceId: e.resourceId,
    createTime: e.createTime,
    modifyTime: e.modifyTime,
    done: e.done,
    cancelRequested: e.cancelRequested,
    result: e.result,
    version: e.version,
  };
}

/** Adds a pending operation to the unit of work of `em` (flushed by the caller with the resource change). */
export function startOperation(em: EntityManager, now: Date, folderId: string, kind: OperationKind, resourceId: string): OperationEntity {
  return em.create(OperationEntity, {
    id: newId('op'),
    folderId,
    description: kind,
    resourceId,
    createTime: now,
    modifyTime: now,
    done: false,
    cancelRequested: false,
    result: { kind: 'pending' },
    version: 1,
  });
}

/** Marks an operation done in the unit of work of `em`; a done operation is never changed again. */
export function finishOperation(op: OperationEntity, now: Date, result: Exclude<OperationResult, { kind: 'pending' }>): void {
  if (op.done) return;
  op.done = true;
  op.result = result;
  op.modifyTime = now;
}

/** Finishes every pending operation of a resource with the given kinds. */
export async function finishPending(
  em: EntityManager,
  now: Date,
  resourceId: string,
  kinds: OperationKind[],
  result: Exclude<OperationResult, { kind: 'pending' }>,
): Promise<void> {
  const ops = await em.find(OperationEntity, { resourceId, done: false, description: { $in: kinds } });
  for (const op of ops) finishOperation(op, now, result);
}

const MAX_WAIT_MS = 600_000;

/** Operation use cases: read, wait, cancel. */
export class Operations {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    private readonly pollMs = 100,
  ) {}

  async get(id: string): Promise<Operation> {
    const e = await fork(this.ctx).findOne(OperationEntity, { id });
    if (!e) throw new NotFoundError('operation', id, 'operation_id');
    return toOperation(e);
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Operation>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const clauses = parseFilter(filter, ['done', 'resource_id', 'description']);
    const where = { ...whereOf(clauses, { resource_id: 'resourceId' }), folderId };
    const result = await listPage(fork(this.ctx), OperationEntity, where, page, `operations|${folderId}|${filter}`, 'desc');
    return { items: result.items.map(toOperation), nextPageToken: result.nextPageToken };
  }

  /**
   * Polls the database rather than waiting on an in-memory signal, so that a
   * wait works whichever Berth process does the work.
   */
  async wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Operation> {
    const deadline = Date.now() + Math.min(timeoutMs, MAX_WAIT_MS);
    for (;;) {
      const op = await this.get(id);
      if (op.done || Date.now() >= deadline || signal?.aborted) return op;
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollMs, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Cancellation is best-effort: the operation ends with CANCELLED at once and
   * whoever works on it stops at its next step; the resource stays as it is then.
   */
  async cancel(id: string): Promise<Operation> {
    const em = fork(this.ctx);
    const e = await em.findOne(OperationEntity, { id });
    if (!e) throw new NotFoundError('operation', id, 'operation_id');
    if (e.done) throw new FailedPreconditionError(`operation ${id} is already done`, `operations/${id}`);
    e.cancelRequested = true;
    finishOperation(e, this.ctx.now(), { kind: 'error', code: 'CANCELLED', message: 'the operation was cancelled' });
    await translateWrite('operation', { id }, () => em.flush());
    return toOperation(e);
  }
}
