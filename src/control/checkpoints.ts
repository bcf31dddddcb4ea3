import { FailedPreconditionError, NotFoundError, QuotaExceededError } from '../domain/errors';
import type { Checkpoint } from '../domain/checkpoint';
import type { Operation } from '../domain/operation';
import { Violations, checkBytes, checkDescription, checkName } from '../domain/validation';
import type { BlobStore } from '../checkpoint/blob-store';
import type { CaptureResult, CaptureSandbox } from '../checkpoint/capture-sandbox';
import type { Logger } from '../logger';
import { newId } from '../store/ids';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { inTransaction, store, type ControlContext } from './context';
import type { Folders } from './folders';


export interface CaptureSettings {
  /** The environment image of checkpoints created without one (docker sandbox). */
  systemImage: string;
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
  /** Index among the code cells of the served one; undefined: the last. */
  servedCellIndex?: number;
  /** The image the cells run in (docker sandbox); empty: the system image. */
  environmentImage?: string;
}

/** A Docker image reference: what `docker run` accepts, without spaces or control characters. */
const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;

/** Checkpoint use cases: capture, read, unpin. */
export class Checkpoints {
  private readonly captures = new Map<string, AbortController>();

  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    private readonly blobs: BlobStore,
    private readonly sandbox: CaptureSandbox,
    private readonly settings: CaptureSettings,
    private readonly log: Logger,
    /** Shows a line of what a capture is waiting for in its operation's metadata; '' clears it. */
    private readonly reportProgress: (operationId: string, line: string) => Promise<void> = async () => undefined,
  ) {}

  /**
   * Pins a checkpoint: stores it as `capturing` with a pending operation, then
   * runs the capture in the background; the operation ends with the checkpoint
   * or with the cell, variable and traceback that stopped it.
   */
  async create(raw: CheckpointInput): Promise<Operation> {
    const v = new Violations();
    checkName(v, 'name', raw.name);
    checkDescription(v, 'description', raw.description);
    if (raw.cells.length === 0) v.add('cells', 'the notebook has no code cell');
    const servedCellIndex = raw.servedCellIndex ?? raw.cells.length - 1;
    if (raw.cells.length > 0 && (!Number.isInteger(servedCellIndex) || servedCellIndex < 0 || servedCellIndex >= raw.cells.length))
      v.add('served_cell_index', `is ${servedCellIndex}; the notebook has ${raw.cells.length} code cells (0-${raw.cells.length - 1})`);
    // Under the process runtime the cells run in Berth's --python: no image is involved.
    const environmentImage = this.sandbox.kind === 'docker' ? raw.environmentImage || this.settings.systemImage : '';
    if (raw.environmentImage) {
      checkBytes(v, 'environment_image', raw.environmentImage, 512);
      if (!IMAGE_REFERENCE.test(raw.environmentImage)) v.add('environment_image', 'is not a Docker image reference (e.g. registry.example/team/python:3.11)');
    }
    v.throwIfAny();
    const input = { ...raw, servedCellIndex, environmentImage };
    const id = newId('ck');
    // The folder row is locked for update: checkpoint creations in one folder are
    // serial, so two cannot both see room under the quota; and the folder cannot
    // be deleted meanwhile.
    const op = await inTransaction(this.ctx, { kind: 'checkpoint', id }, async (s) => {
      if (!(await s.folders.lock(input.folderId, 'update'))) throw new NotFoundError('folder', input.folderId, 'folder_id');
      const pinned = await s.checkpoints.countPinned(input.folderId);
      if (pinned >= this.settings.quota)
        throw new QuotaExceededError(`folder ${input.folderId} holds ${pinned} pinned checkpoints, its quota; delete one first`, `folders/${input.folderId}/checkpoints`);
      const now = this.ctx.now();
      s.checkpoints.insert(
        { id, folderId: input.folderId, name: input.name, description: input.description, cellSources: input.cells, servedCellIndex, environmentImage, createTime: now },
        'capturing',
      );
      const started = s.operations.start(now, input.folderId, 'CreateCheckpoint', id);
      await s.flush('checkpoint', { id, name: input.name, scope: `folder ${input.folderId}` });
      return started;
    });
    const controller = new AbortController();
    this.captures.set(op.id, controller);
    void this.capture(id, op.id, input, controller.signal).finally(() => this.captures.delete(op.id));
    return op;
  }

  private async capture(id: string, opId: string, input: Required<CheckpointInput>, signal: AbortSignal): Promise<void> {
    const log = this.log.child({ checkpointId: id });
    let result: CaptureResult;
    try {
      result = await this.sandbox.capture({
        checkpointId: id,
        environmentImage: input.environmentImage,
        cells: input.cells,
        served: input.servedCellIndex,
        timeoutMs: this.settings.timeoutMs,
        memoryMb: this.settings.memoryMb,
        signal,
        onProgress: (line) => void this.reportProgress(opId, line),
      });
    } catch (err) {
      log.error({ err }, 'capture failed');
      result = { ok: false, message: `capture failed: ${(err as Error).message}` };
    }
    try {
      const blob = result.ok ? await this.blobs.put(result.blobFile) : undefined;
      // The operation is locked while the outcome is written: a cancel either came
      // first (and the checkpoint is not pinned) or waits and finds it done.
      const outcome = await inTransaction(this.ctx, { kind: 'checkpoint', id }, async (s) => {
        const op = await s.operations.lock(opId);
        if (op?.done) {
          await s.checkpoints.change(id, { state: 'failed' });
        } else if (!result.ok || !blob) {
          await s.checkpoints.change(id, { state: 'failed' });
          await s.operations.finish(opId, this.ctx.now(), { kind: 'error', code: 'FAILED_PRECONDITION', message: result.ok ? 'capture failed' : result.message });
        } else {
          await s.checkpoints.change(id, {
            state: 'ready',
            digest: blob.digest,
            sizeBytes: blob.size,
            pythonVersion: result.pythonVersion,
            variables: result.variables,
            environmentImageId: result.environmentImageId,
            moduleVersions: result.moduleVersions,
          });
          await s.operations.finish(opId, this.ctx.now(), { kind: 'response', resource: 'checkpoint', resourceId: id });
        }
        await s.flush('checkpoint', { id });
        return op?.done ? 'cancelled' : result.ok ? 'ready' : 'failed';
      });
      // Cancelled: the blob was stored for nothing unless another checkpoint has the same content.
      if (outcome === 'cancelled' && blob && (await store(this.ctx).checkpoints.countWithDigest(blob.digest)) === 0) await this.blobs.remove(blob.digest);
      if (outcome === 'failed' && !result.ok) log.info({ reason: result.message }, 'capture failed');
      if (outcome === 'ready' && result.ok && blob) log.info({ digest: blob.digest, size: blob.size, variables: result.variables.length }, 'checkpoint captured');
    } catch (err) {
      log.error({ err }, 'the outcome of the capture could not be stored');
    } finally {
      void this.reportProgress(opId, '');
      if (result.ok) await result.cleanup();
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
    const s = store(this.ctx);
    const cutoff = new Date(this.ctx.now().getTime() - this.settings.timeoutMs - 60_000);
    for (const cp of await s.checkpoints.capturing(sharedDatabase ? cutoff : undefined)) {
      await s.checkpoints.change(cp.id, { state: 'failed' });
      await s.operations.finishPending(cp.id, undefined, this.ctx.now(), {
        kind: 'error',
        code: 'UNAVAILABLE',
        message: 'the capture was interrupted by a restart of Berth; create the checkpoint again',
      });
    }
    await s.flush('checkpoint', { id: '' });
  }

  async get(id: string): Promise<Checkpoint> {
    const cp = await store(this.ctx).checkpoints.get(id);
    if (!cp) throw new NotFoundError('checkpoint', id, 'checkpoint_id');
    return cp;
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Checkpoint>> {
    await this.folders.mustExist(folderId, 'folder_id');
    return store(this.ctx).checkpoints.list(folderId, parseFilter(filter, ['name', 'state']), page, `checkpoints|${folderId}|${filter}`);
  }

  /**
   * Unpins a checkpoint no node uses. The checkpoint row is locked for the
   * check and the delete, and a node made from it locks it too: no node can
   * come to use a deleted checkpoint.
   */
  async delete(id: string): Promise<void> {
    const digest = await inTransaction(this.ctx, { kind: 'checkpoint', id }, async (s) => {
      const cp = await s.checkpoints.lock(id, 'update');
      if (!cp) throw new NotFoundError('checkpoint', id, 'checkpoint_id');
      const users = await s.nodes.usingCheckpoint(cp.folderId, id);
      if (users.length > 0)
        throw new FailedPreconditionError(`checkpoint ${id} is used by node ${users.map((n) => JSON.stringify(n.name)).join(', ')}`, `nodes/${users[0]!.id}`, 'IN_USE');
      await s.checkpoints.remove(id);
      await s.flush('checkpoint', { id });
      return cp.digest;
    });
    if (digest && (await store(this.ctx).checkpoints.countWithDigest(digest)) === 0) await this.blobs.remove(digest);
  }

  /** Where a ready checkpoint's blob is on this host. */
  blobPath(checkpoint: Checkpoint): string {
    if (checkpoint.state !== 'ready') throw new FailedPreconditionError(`checkpoint ${checkpoint.id} is ${checkpoint.state}`, `checkpoints/${checkpoint.id}`);
    return this.blobs.pathOf(checkpoint.digest);
  }
}
