import type { EntityManager } from '@mikro-orm/core';
import type { AuditEntry, AuditRecord } from '../domain/audit';
import type { Page, PageRequest } from '../domain/listing';
import { AuditRecordEntity } from './entities/audit-record.entity';
import { listPage } from './paging';

/** The audit trail: appended to, listed newest first, never changed. */
export class AuditRecordRepository {
  constructor(private readonly em: EntityManager) {}

  async insert(id: string, entry: AuditEntry): Promise<void> {
    await this.em.insert(AuditRecordEntity, { id, ...entry });
  }

  async list(folderId: string, page: PageRequest): Promise<Page<AuditRecord>> {
    const result = await listPage(this.em, AuditRecordEntity, { folderId }, page, `audit|${folderId}`, 'desc');
    return { items: result.items.map((e) => ({ ...e })), nextPageToken: result.nextPageToken };
  }
}
