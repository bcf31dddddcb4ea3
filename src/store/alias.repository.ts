import type { EntityManager } from '@mikro-orm/core';
import type { Alias, AliasInput } from '../domain/alias';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import { AliasEntity } from './entities/alias.entity';
import { listPage, whereOf } from './paging';

function toAlias(e: AliasEntity): Alias {
  return {
    id: e.id,
    folderId: e.folderId,
    name: e.name,
    description: e.description,
    targets: e.targets,
    metadata: e.metadata,
    access: e.access,
    createTime: e.createTime,
    updateTime: e.updateTime,
    version: e.version,
  };
}

/** Alias rows: the queries and the mapping to the domain's Alias. Writes join the unit of work. */
export class AliasRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Alias | undefined> {
    const e = await this.em.findOne(AliasEntity, { id });
    return e ? toAlias(e) : undefined;
  }

  async getByName(folderId: string, name: string): Promise<Alias | undefined> {
    const e = await this.em.findOne(AliasEntity, { folderId, name });
    return e ? toAlias(e) : undefined;
  }

  async list(folderId: string, clauses: FilterClause[], page: PageRequest, query: string): Promise<Page<Alias>> {
    const result = await listPage(this.em, AliasEntity, { ...whereOf(clauses, {}), folderId }, page, query);
    return { items: result.items.map(toAlias), nextPageToken: result.nextPageToken };
  }

  /** Every alias, in every folder (the typed APIs follow them). */
  async all(): Promise<Alias[]> {
    return (await this.em.find(AliasEntity, {}, { orderBy: { id: 'asc' } })).map(toAlias);
  }

  /** The aliases of a folder that have the node among their targets. */
  async targeting(folderId: string, nodeId: string): Promise<Alias[]> {
    const rows = await this.em.find(AliasEntity, { folderId });
    return rows.filter((a) => a.targets.some((t) => t.nodeId === nodeId)).map(toAlias);
  }

  async countInFolder(folderId: string): Promise<number> {
    return this.em.count(AliasEntity, { folderId });
  }

  insert(id: string, input: AliasInput, now: Date): Alias {
    return toAlias(this.em.create(AliasEntity, { id, ...input, createTime: now, updateTime: now, version: 1 }));
  }

  /** Changes the alias in the unit of work; the flush checks the version this unit of work read. */
  async change(id: string, next: Omit<AliasInput, 'folderId'>, now: Date): Promise<void> {
    const e = await this.em.findOneOrFail(AliasEntity, { id });
    this.em.assign(e, { name: next.name, description: next.description, targets: next.targets, metadata: next.metadata, access: next.access, updateTime: now });
  }

  async remove(id: string): Promise<void> {
    const e = await this.em.findOne(AliasEntity, { id });
    if (e) this.em.remove(e);
  }
}
