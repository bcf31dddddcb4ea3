import { DEFAULT_FOLDER_ID, validateFolder, type Folder, type FolderInput } from '../domain/folder';
import { FailedPreconditionError, NotFoundError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { newId } from '../store/ids';
import { checkEtag } from '../store/translate';
import { inTransaction, store, type ControlContext } from './context';

/** Folder use cases: the tenancy boundary everything else hangs from. */
export class Folders {
  constructor(private readonly ctx: ControlContext) {}

  /** Creates the `default` folder when it is missing; safe to run on every start and concurrently. */
  async ensureDefault(): Promise<void> {
    if (await store(this.ctx).folders.exists(DEFAULT_FOLDER_ID)) return;
    const input = { name: 'default', description: 'The folder that exists from the first start on.', labels: {} };
    try {
      await store(this.ctx).folders.insert(DEFAULT_FOLDER_ID, input, this.ctx.now());
    } catch (err) {
      if (!(await store(this.ctx).folders.exists(DEFAULT_FOLDER_ID))) throw err;
    }
  }

  async create(input: FolderInput): Promise<Folder> {
    validateFolder(input);
    return store(this.ctx).folders.insert(newId('fl'), input, this.ctx.now());
  }

  async get(id: string): Promise<Folder> {
    const folder = await store(this.ctx).folders.get(id);
    if (!folder) throw new NotFoundError('folder', id, 'folder_id');
    return folder;
  }

  /** Throws NotFoundError naming `field` when the folder does not exist. */
  async mustExist(id: string, field: string): Promise<void> {
    if (!(await store(this.ctx).folders.exists(id))) throw new NotFoundError('folder', id, field);
  }

  /** Folders by creation; with `onlyIds`, only those (the folders a caller holds a role in). */
  async list(page: PageRequest, filter: string, onlyIds?: readonly string[]): Promise<Page<Folder>> {
    return store(this.ctx).folders.list(parseFilter(filter, ['name']), page, `folders|${filter}`, onlyIds);
  }

  async update(id: string, mutate: (current: FolderInput) => FolderInput, etag?: string): Promise<Folder> {
    const folders = store(this.ctx).folders;
    const folder = await folders.get(id);
    if (!folder) throw new NotFoundError('folder', id, 'folder.id');
    checkEtag('folder', id, folder.version, etag);
    const next = mutate({ name: folder.name, description: folder.description, labels: folder.labels });
    validateFolder(next);
    return folders.update(id, next, this.ctx.now());
  }

  /**
   * Deletes an empty folder. The folder row is locked for the check and the
   * delete, and everything created in a folder locks it too: nothing can be
   * created in it between the check that it is empty and its deletion.
   */
  async delete(id: string, etag?: string): Promise<void> {
    await inTransaction(this.ctx, { kind: 'folder', id }, async (s) => {
      const folder = await s.folders.lock(id, 'update');
      if (!folder) throw new NotFoundError('folder', id, 'folder_id');
      checkEtag('folder', id, folder.version, etag);
      if (id === DEFAULT_FOLDER_ID) throw new FailedPreconditionError('the default folder cannot be deleted', `folders/${id}`);
      for (const [kind, count] of [
        ['nodes', () => s.nodes.countInFolder(id)],
        ['aliases', () => s.aliases.countInFolder(id)],
        ['checkpoints', () => s.checkpoints.countInFolder(id)],
        ['secrets', () => s.secrets.countInFolder(id)],
      ] as const) {
        const n = await count();
        if (n > 0) throw new FailedPreconditionError(`folder ${id} still holds ${n} ${kind}; delete them first`, `folders/${id}`, 'NOT_EMPTY');
      }
      await s.accessBindings.removeFolder(id);
      await s.folders.remove(id);
    });
  }
}
