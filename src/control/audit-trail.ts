import type { AuditEntry, AuditRecord } from '../domain/audit';
import type { Page, PageRequest } from '../domain/listing';
import { NotFoundError } from '../domain/errors';
import { newId } from '../store/ids';
import { store, type ControlContext } from './context';

/** Records control-plane writes and lists them per folder. */
export class AuditTrail {
  constructor(private readonly ctx: ControlContext) {}

  async record(entry: Omit<AuditEntry, 'time'>): Promise<void> {
    const time = this.ctx.now();
    await store(this.ctx).auditRecords.insert(newId('au', time.getTime()), { ...entry, time });
  }

  /** A folder's records, newest first; `''` lists the server-wide ones. */
  async list(folderId: string, page: PageRequest): Promise<Page<AuditRecord>> {
    if (folderId !== '' && !(await store(this.ctx).folders.exists(folderId))) throw new NotFoundError('folder', folderId, 'folder_id');
    return store(this.ctx).auditRecords.list(folderId, page);
  }
}
