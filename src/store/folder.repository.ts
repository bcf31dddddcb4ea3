import type { EntityManager } from '@mikro-orm/core';
import type { Folder, FolderInput } from '../domain/folder';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import { FolderEntity } from './entities/folder.entity';
import { listPage, whereOf } from './paging';
import { lockModeOf, type RowLock } from './row-lock';
import { translateWrite } from './translate';

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

/** Folder rows: the queries and the mapping to the domain's Folder. */
export class FolderRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Folder | undefined> {
    const e = await this.em.findOne(FolderEntity, { id });
    return e ? toFolder(e) : undefined;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.em.findOne(FolderEntity, { id }, { fields: ['id'] })) !== null;
  }

  /**
   * Reads the folder and holds it until the transaction ends: with `share`,
   * what is created in it cannot race its deletion; with `update`, its
   * deletion and its quota checks are serial.
   */
  async lock(id: string, lock: RowLock): Promise<Folder | undefined> {
    const e = await this.em.findOne(FolderEntity, { id }, { lockMode: lockModeOf(lock), refresh: true });
    return e ? toFolder(e) : undefined;
  }

  /** A page of folders; with `onlyIds`, only those among them. */
  async list(clauses: FilterClause[], page: PageRequest, query: string, onlyIds?: readonly string[]): Promise<Page<Folder>> {
    const where = { ...whereOf(clauses, {}), ...(onlyIds ? { id: { $in: [...onlyIds] } } : {}) };
    const result = await listPage(this.em, FolderEntity, where, page, onlyIds ? `${query}|${onlyIds.join(',')}` : query);
    return { items: result.items.map(toFolder), nextPageToken: result.nextPageToken };
  }

  async insert(id: string, input: FolderInput, now: Date): Promise<Folder> {
    const entity = this.em.create(FolderEntity, { id, ...input, createTime: now, updateTime: now, version: 1 });
    await translateWrite('folder', { id, name: input.name, scope: 'Berth' }, () => this.em.persistAndFlush(entity));
    return toFolder(entity);
  }

  /**
   * Writes the change if the folder still has the version this repository's
   * unit of work read (a concurrent change → ConflictError, ABORTED).
   */
  async update(id: string, next: FolderInput, now: Date): Promise<Folder> {
    const entity = await this.em.findOneOrFail(FolderEntity, { id });
    this.em.assign(entity, { ...next, updateTime: now });
    await translateWrite('folder', { id, name: next.name, scope: 'Berth' }, () => this.em.flush());
    return toFolder(entity);
  }

  async remove(id: string): Promise<void> {
    await translateWrite('folder', { id }, () => this.em.nativeDelete(FolderEntity, { id }));
  }
}
