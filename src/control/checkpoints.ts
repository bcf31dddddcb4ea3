import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import type { Checkpoint } from '../domain/checkpoint';
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

/** Checkpoint use cases: reading and unpinning (capture comes with the checkpoint runtime). */
export class Checkpoints {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
  ) {}

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
  }
}
