import { DEFAULT_FOLDER_ID, validateFolder, type Folder, type FolderInput } from '../domain/folder';
import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { AliasEntity } from '../store/entities/alias.entity';
import { CheckpointEntity } from '../store/entities/checkpoint.entity';
import { FolderEntity } from '../store/entities/folder.entity';
import { NodeEntity } from '../store/entities/node.entity';
import { newId } from '../store/ids';
import { listPage, whereOf } from '../store/paging';
import { checkEtag, translateWrite } from '../store/translate';
import { fork, type ControlContext } from './context';

function toFolder(e: FolderEntity): Folder {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    labels: e.labels,
    createTime: e.createTime,
    updateTime: e.updateTime,
    version: e.version,
  };
}

/** Folder use cases: the tenancy boundary everything else hangs from. */
export class Folders {
  constructor(private readonly ctx: ControlContext) {}

  /** Creates the `default` folder when it is missing; safe to run on every start and concurrently. */
  async ensureDefault(): Promise<void> {
    const em = fork(this.ctx);
    if (await em.findOne(FolderEntity, { id: DEFAULT_FOLDER_ID })) return;
    const now = this.ctx.now();
    const entity = em.create(FolderEntity, {
      id: DEFAULT_FOLDER_ID,
      name: 'default',
      description: 'The folder that exists from the first start on.',
      labels: {},
      createTime: now,
      updateTime: now,
      version: 1,
    });
    try {
      await em.persistAndFlush(entity);
    } catch (err) {
      if (!(await fork(this.ctx).findOne(FolderEntity, { id: DEFAULT_FOLDER_ID }))) throw err;
    }
  }

  async create(input: FolderInput): Promise<Folder> {
    validateFolder(input);
    const em = fork(this.ctx);
    const now = this.ctx.now();
    const entity = em.create(FolderEntity, { id: newId('fl'), ...input, createTime: now, updateTime: now, version: 1 });
    await translateWrite('folder', { id: entity.id, name: input.name, scope: 'Berth' }, () => em.persistAndFlush(entity));
    return toFolder(entity);
  }

  async get(id: string): Promise<Folder> {
    const entity = await fork(this.ctx).findOne(FolderEntity, { id });
    if (!entity) throw new NotFoundError('folder', id, 'folder_id');
    return toFolder(entity);
  }

  /** Throws NotFoundError naming `field` when the folder does not exist. */
  async mustExist(id: string, field: string): Promise<void> {
    if (!(await fork(this.ctx).findOne(FolderEntity, { id }, { fields: ['id'] }))) throw new NotFoundError('folder', id, field);
  }

  async list(page: PageRequest, filter: string): Promise<Page<Folder>> {
    const clauses = parseFilter(filter, ['name']);
    const result = await listPage(fork(this.ctx), FolderEntity, whereOf(clauses, {}), page, `folders|${filter}`);
    return { items: result.items.map(toFolder), nextPageToken: result.nextPageToken };
  }

  async update(id: string, mutate: (current: FolderInput) => FolderInput, etag?: string): Promise<Folder> {
    const em = fork(this.ctx);
    const entity = await em.findOne(FolderEntity, { id });
    if (!entity) throw new NotFoundError('folder', id, 'folder.id');
    checkEtag('folder', id, entity.version, etag);
    const next = mutate({ name: entity.name, description: entity.description, labels: entity.labels });
    validateFolder(next);
    em.assign(entity, { ...next, updateTime: this.ctx.now() });
    await translateWrite('folder', { id, name: next.name, scope: 'Berth' }, () => em.flush());
    return toFolder(entity);
  }

  async delete(id: string, etag?: string): Promise<void> {
    const em = fork(this.ctx);
    const entity = await em.findOne(FolderEntity, { id });
    if (!entity) throw new NotFoundError('folder', id, 'folder_id');
    checkEtag('folder', id, entity.version, etag);
    if (id === DEFAULT_FOLDER_ID) throw new FailedPreconditionError('the default folder cannot be deleted', `folders/${id}`);
    for (const [kind, entityClass] of [
      ['nodes', NodeEntity],
      ['aliases', AliasEntity],
      ['checkpoints', CheckpointEntity],
    ] as const) {
      const count = await em.count(entityClass, { folderId: id });
      if (count > 0) throw new FailedPreconditionError(`folder ${id} still holds ${count} ${kind}; delete them first`, `folders/${id}`, 'NOT_EMPTY');
    }
    await translateWrite('folder', { id }, () => em.removeAndFlush(entity));
  }
}
