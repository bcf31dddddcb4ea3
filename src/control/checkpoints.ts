import { FailedPreconditionError, NotFoundError, QuotaExceededError } from '../domain/errors';
import type { Checkpoint } from '../domain/checkpoint';
import type { Operation } from '../domain/operation';
import { Violations, checkDescription, checkName } from '../domain/validation';
import type { BlobStore } from '../checkpoint/blob-store';
import { captureCheckpoint } from '../checkpoint/capture';
import type { Logger } from '../logger';
import { newId } from '../store/ids';
import { OperationEntity } from '../store/entities/operation.entity';
import { finishOperation, startOperation, toOperation } from './operations';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { CheckpointEntity } from '../store/entities/checkpoint.entity';
import { NodeEntity } from '../store/entities/node.entity';
import { listPage, whereOf } from '../store/paging';
import { translateWrite } from '../store/translate';
import { fork, type ControlContext } from './context';
import type { Folders } from './folders';

export function toCheckpoint(e: CheckpointEntity): Checkpoint {
  return {
    id: e.id,
    folderId: e.folderId,
    name: e.name,
    description: e.description,
    cellSources: e.cellSources,
    servedCellIndex: e.servedCellIndex,
    state: e.state,
    digest: e.digest,
    sizeBytes: e.sizeBytes,
    pythonVersion: e.pythonVersion,
    variables: e.variables,
    createTime: e.createTime,
    version: e.version,
  };
}

export interface CaptureSettings {
  python: string;
  timeoutMs: number;
  memoryMb: number;
  /** Pinned (not failed) checkpoints a folder may hold. */
  quota: number;
}

export interface CheckpointInput {
  folderId: string;
  name: string;
  description: string;
  cells: string[];
  servedCellIndex: number;
}

/** Checkpoint use cases: capture, read, unpin. */
export class Checkpoints {
  private readonly captures = new Map<string, AbortController>();

  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    private readonly blobs: BlobStore,
    private readonly settings: CaptureSettings,
    private readonly log: Logger,
  ) {}

  /**
   * Pins a checkpoint: stores it as `capturing` with a pending operation, then
   * runs the capture in the background; the operation ends with the checkpoint
   * or with the cell, variable and traceback that stopped it.
   */
  async create(input: CheckpointInput): Promise<Operation> {
    const v = new Violations();
    checkName(v, 'name', input.name);
    checkDescription(v, 'description', input.description);
    if (input.cells.length === 0) v.add('cells', 'the notebook has no code cell');
    if (!Number.isInteger(input.servedCellIndex) || input.servedCellIndex < 0 || input.servedCellIndex >= input.cells.length)
      v.add('served_cell_index', `is ${input.servedCellIndex}; the notebook has ${input.cells.length} code cells (0-${input.cells.length - 1})`);
    v.throwIfAny();
    await this.folders.mustExist(input.folderId, 'folder_id');
    const em = fork(this.ctx);
    const pinned = await em.count(CheckpointEntity, { folderId: input.folderId, state: { $ne: 'failed' } });
    if (pinned >= this.settings.quota)
      throw new QuotaExceededError(`folder ${input.folderId} holds ${pinned} pinned checkpoints, its quota; delete one first`, `folders/${input.folderId}/checkpoints`);
    const now = this.ctx.now();
    const id = newId('ck');
    em.create(CheckpointEntity, {
      id,
      folderId: input.folderId,
      name: input.name,
      description: input.description,
      cellSources: input.cells,
      servedCellIndex: input.servedCellIndex,
      state: 'capturing',
      digest: '',
      sizeBytes: 0,
      pythonVersion: '',
      variables: [],
      createTime: now,
      version: 1,
    });
    const op = startOperation(em, now, input.folderId, 'CreateCheckpoint', id);
    await translateWrite('checkpoint', { id, name: input.name, scope: `folder ${input.folderId}` }, () => em.flush());
    const controller = new AbortController();
    this.captures.set(op.id, controller);
    void this.capture(id, op.id, input, controller.signal).finally(() => this.captures.delete(op.id));
    return toOperation(op);
  }

  private async capture(id: string, opId: string, input: CheckpointInput, signal: AbortSignal): Promise<void> {
    const log = this.log.child({ checkpointId: id });
    let result: Awaited<ReturnType<typeof captureCheckpoint>>;
    try {
      result = await captureCheckpoint({ ...this.settings, cells: input.cells, served: input.servedCellIndex, signal });
    } catch (err) {
      log.error({ err }, 'capture failed');
      result = { ok: false, message: `capture failed: ${(err as Error).message}` };
    }
    const em = fork(this.ctx);
    const cp = await em.findOne(CheckpointEntity, { id });
    const op = await em.findOne(OperationEntity, { id: opId });
    if (op?.done) {
      // Cancelled meanwhile: the checkpoint is not pinned.
      if (cp) cp.state = 'failed';
      await em.flush();
      if (result.ok) await result.cleanup();
      return;
    }
    if (!result.ok) {
      log.info({ reason: result.message }, 'capture failed');
      if (cp) cp.state = 'failed';
      if (op) finishOperation(op, this.ctx.now(), { kind: 'error', code: 'FAILED_PRECONDITION', message: result.message });
      await em.flush();
      return;
    }
    try {
      const blob = await this.blobs.put(result.blobFile);
      if (cp) Object.assign(cp, { state: 'ready', digest: blob.digest, sizeBytes: blob.size, pythonVersion: result.pythonVersion, variables: result.variables });
      if (op) finishOperation(op, this.ctx.now(), { kind: 'response', resource: 'checkpoint', resourceId: id });
      await em.flush();
      log.info({ digest: blob.digest, size: blob.size, variables: result.variables.length }, 'checkpoint captured');
    } finally {
      await result.cleanup();
    }
  }

  /** Stops a capture in flight (its operation was cancelled). */
  cancelCapture(operationId: string): void {
    this.captures.get(operationId)?.abort();
  }

  /**
   * Captures interrupted by a restart of Berth end as failed; they would never
   * finish. With a shared database only those older than the capture time
   * limit are surely dead (another process may be capturing the others).
   */
  async failInterrupted(sharedDatabase: boolean): Promise<void> {
    const em = fork(this.ctx);
    const cutoff = new Date(this.ctx.now().getTime() - this.settings.timeoutMs - 60_000);
    const stale = await em.find(CheckpointEntity, sharedDatabase ? { state: 'capturing', createTime: { $lt: cutoff } } : { state: 'capturing' });
    for (const cp of stale) {
      cp.state = 'failed';
      const ops = await em.find(OperationEntity, { resourceId: cp.id, done: false });
      for (const op of ops) finishOperation(op, this.ctx.now(), { kind: 'error', code: 'UNAVAILABLE', message: 'the capture was interrupted by a restart of Berth; create the checkpoint again' });
    }
    await em.flush();
  }

  async get(id: string): Promise<Checkpoint> {
    const e = await fork(this.ctx).findOne(CheckpointEntity, { id });
    if (!e) throw new NotFoundError('checkpoint', id, 'checkpoint_id');
    return toCheckpoint(e);
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Checkpoint>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const where = { ...whereOf(parseFilter(filter, ['name', 'state']), {}), folderId };
    const result = await listPage(fork(this.ctx), CheckpointEntity, where, page, `checkpoints|${folderId}|${filter}`);
    return { items: result.items.map(toCheckpoint), nextPageToken: result.nextPageToken };
  }

  async delete(id: string): Promise<void> {
    const em = fork(this.ctx);
    const e = await em.findOne(CheckpointEntity, { id });
    if (!e) throw new NotFoundError('checkpoint', id, 'checkpoint_id');
    const users = (await em.find(NodeEntity, { folderId: e.folderId, kind: 'checkpoint' })).filter(
      (n) => n.spec.source.kind === 'checkpoint' && n.spec.source.checkpointId === id,
    );
    if (users.length > 0)
      throw new FailedPreconditionError(`checkpoint ${id} is used by node ${users.map((n) => JSON.stringify(n.name)).join(', ')}`, `nodes/${users[0]!.id}`, 'IN_USE');
    await translateWrite('checkpoint', { id }, () => em.removeAndFlush(e));
    if (e.digest && (await em.count(CheckpointEntity, { digest: e.digest })) === 0) await this.blobs.remove(e.digest);
  }

  /** Where a ready checkpoint's blob is on this host. */
  blobPath(checkpoint: Checkpoint): string {
    if (checkpoint.state !== 'ready') throw new FailedPreconditionError(`checkpoint ${checkpoint.id} is ${checkpoint.state}`, `checkpoints/${checkpoint.id}`);
    return this.blobs.pathOf(checkpoint.digest);
  }
}
