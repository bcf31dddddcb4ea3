import type { EntityManager } from '@mikro-orm/core';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import type { Operation, OperationKind, OperationResult } from '../domain/operation';
import { OperationEntity } from './entities/operation.entity';
import { newId } from './ids';
import { listPage, whereOf } from './paging';
import { lockModeOf } from './row-lock';

export type FinishedResult = Exclude<OperationResult, { kind: 'pending' }>;

function toOperation(e: OperationEntity): Operation {
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
    progress: e.progress ?? '',
    version: e.version,
  };
}

/** Marks an operation done; a done operation is never changed again. */
export function finishOperation(op: OperationEntity, now: Date, result: FinishedResult): void {
  if (op.done) return;
  op.done = true;
  op.result = result;
  op.progress = '';
  op.modifyTime = now;
}

/**
 * Operation rows. Writes join the unit of work of the EntityManager the
 * repository was made with: they are flushed with the resource change they
 * belong to, in the same transaction.
 */
export class OperationRepository {
  constructor(private readonly em: EntityManager) {}

  /** Adds an operation, pending or (when `result` is given) already done. */
  start(now: Date, folderId: string, kind: OperationKind, resourceId: string, result?: FinishedResult): Operation {
    const op = this.em.create(OperationEntity, {
      id: newId('op'),
      folderId,
      description: kind,
      resourceId,
      createTime: now,
      modifyTime: now,
      done: false,
      cancelRequested: false,
      result: { kind: 'pending' },
      progress: '',
      version: 1,
    });
    if (result) finishOperation(op, now, result);
    return toOperation(op);
  }

  async get(id: string): Promise<Operation | undefined> {
    const e = await this.em.findOne(OperationEntity, { id });
    return e ? toOperation(e) : undefined;
  }

  /**
   * Reads the operation and holds it until the transaction ends, so whoever
   * finishes it meanwhile (the supervisor, a cancel) waits instead of losing
   * a version check.
   */
  async lock(id: string): Promise<Operation | undefined> {
    const e = await this.em.findOne(OperationEntity, { id }, { lockMode: lockModeOf('update'), refresh: true });
    return e ? toOperation(e) : undefined;
  }

  /** The newest operation of a resource with this kind. */
  async latest(resourceId: string, kind: OperationKind): Promise<Operation | undefined> {
    const e = await this.em.findOne(OperationEntity, { resourceId, description: kind }, { orderBy: { id: 'desc' } });
    return e ? toOperation(e) : undefined;
  }

  async list(folderId: string, clauses: FilterClause[], page: PageRequest, query: string): Promise<Page<Operation>> {
    const where = { ...whereOf(clauses, { resource_id: 'resourceId' }), folderId };
    const result = await listPage(this.em, OperationEntity, where, page, query, 'desc');
    return { items: result.items.map(toOperation), nextPageToken: result.nextPageToken };
  }

  /**
   * Sets the progress line of a pending operation, at once and outside the
   * unit of work: a plain update that leaves the version alone, so whoever
   * finishes the operation meanwhile is not refused for it.
   */
  async writeProgress(ids: string[], progress: string): Promise<void> {
    if (ids.length === 0) return;
    await this.em.nativeUpdate(OperationEntity, { id: { $in: ids }, done: false }, { progress });
  }

  /** Finishes the operation in the unit of work (a done one stays as it is); undefined when it does not exist. */
  async finish(id: string, now: Date, result: FinishedResult, cancelRequested = false): Promise<Operation | undefined> {
    const e = await this.em.findOne(OperationEntity, { id });
    if (!e) return undefined;
    if (cancelRequested && !e.done) e.cancelRequested = true;
    finishOperation(e, now, result);
    return toOperation(e);
  }

  /**
   * Finishes every pending operation of a resource with the given kinds. With
   * `lock` (inside a transaction) they are locked as they are read: one that
   * someone else finishes meanwhile is waited for and then left alone.
   */
  async finishPending(resourceId: string, kinds: OperationKind[] | undefined, now: Date, result: FinishedResult, lock = false): Promise<void> {
    const where = kinds ? { resourceId, done: false, description: { $in: kinds } } : { resourceId, done: false };
    const ops = await this.em.find(OperationEntity, where, lock ? { lockMode: lockModeOf('update'), orderBy: { id: 'asc' }, refresh: true } : {});
    for (const op of ops) finishOperation(op, now, result);
  }
}
