import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import type { Operation } from '../domain/operation';
import { ProgressThrottle } from '../domain/progress-throttle';
import { inTransaction, store, type ControlContext } from './context';
import type { Folders } from './folders';

const MAX_WAIT_MS = 600_000;

/** Operation use cases: read, wait, cancel, and the progress of long work. */
export class Operations {
  private readonly progress = new ProgressThrottle();

  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    private readonly pollMs = 100,
  ) {}

  async get(id: string): Promise<Operation> {
    const op = await store(this.ctx).operations.get(id);
    if (!op) throw new NotFoundError('operation', id, 'operation_id');
    return op;
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Operation>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const clauses = parseFilter(filter, ['done', 'resource_id', 'description']);
    return store(this.ctx).operations.list(folderId, clauses, page, `operations|${folderId}|${filter}`);
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
   * Shows what long work on a pending operation is doing now (a checkpoint
   * capture, say) in its metadata's `progress`, for every Berth process that
   * reads the operation. Throttled: the first line at once, then at most one
   * every 2 s; `''` clears it (done operations are cleared anyway). A done or
   * unknown operation is left alone. Never throws for a lost write: progress
   * is advisory, the work it describes goes on.
   */
  async reportProgress(operationId: string, line: string): Promise<void> {
    if (!this.progress.take(operationId, line, this.ctx.now().getTime())) return;
    await store(this.ctx)
      .operations.writeProgress([operationId], line)
      .catch(() => {});
  }

  /**
   * Cancellation is best-effort: the operation ends with CANCELLED at once and
   * whoever works on it stops at its next step; the resource stays as it is then.
   * The operation is locked: one a worker finishes meanwhile is already done.
   */
  async cancel(id: string): Promise<Operation> {
    return inTransaction(this.ctx, { kind: 'operation', id }, async (s) => {
      const current = await s.operations.lock(id);
      if (!current) throw new NotFoundError('operation', id, 'operation_id');
      if (current.done) throw new FailedPreconditionError(`operation ${id} is already done`, `operations/${id}`);
      await s.operations.finish(id, this.ctx.now(), { kind: 'error', code: 'CANCELLED', message: 'the operation was cancelled' }, true);
      await s.flush('operation', { id });
      return (await s.operations.get(id))!;
    });
  }
}
