import type { EntityManager } from '@mikro-orm/core';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import type { SealedEntry, Secret, SecretInput } from '../domain/secret';
import { SecretEntity } from './entities/secret.entity';
import { listPage, whereOf } from './paging';
import { lockModeOf, type RowLock } from './row-lock';

/** The secret as the domain sees it: keys and version, never a sealed value. */
function toSecret(e: SecretEntity): Secret {
  return {
    id: e.id,
    folderId: e.folderId,
    name: e.name,
    description: e.description,
    labels: e.labels,
    keys: e.entries.map((entry) => entry.key),
    currentVersion: e.currentVersion,
    createTime: e.createTime,
    updateTime: e.updateTime,
    version: e.version,
  };
}

/**
 * Secret rows: the queries and the mapping to the domain's Secret. Sealed
 * values leave only through {@link sealed}, for the one use case that opens
 * them. Writes join the unit of work.
 */
export class SecretRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Secret | undefined> {
    const e = await this.em.findOne(SecretEntity, { id });
    return e ? toSecret(e) : undefined;
  }

  /** Reads the secret and holds it until the transaction ends (see RowLock). */
  async lock(id: string, lock: RowLock): Promise<Secret | undefined> {
    const e = await this.em.findOne(SecretEntity, { id }, { lockMode: lockModeOf(lock), refresh: true });
    return e ? toSecret(e) : undefined;
  }

  /** Reads and holds several secrets in id order, the order every transaction takes them in. */
  async lockMany(ids: string[], lock: RowLock): Promise<Secret[]> {
    if (ids.length === 0) return [];
    const rows = await this.em.find(SecretEntity, { id: { $in: [...new Set(ids)] } }, { lockMode: lockModeOf(lock), orderBy: { id: 'asc' }, refresh: true });
    return rows.map(toSecret);
  }

  /** The secret with its current version's sealed entries. */
  async sealed(id: string): Promise<{ secret: Secret; entries: SealedEntry[] } | undefined> {
    const e = await this.em.findOne(SecretEntity, { id });
    return e ? { secret: toSecret(e), entries: e.entries } : undefined;
  }

  async list(folderId: string, clauses: FilterClause[], page: PageRequest, query: string): Promise<Page<Secret>> {
    const result = await listPage(this.em, SecretEntity, { ...whereOf(clauses, {}), folderId }, page, query);
    return { items: result.items.map(toSecret), nextPageToken: result.nextPageToken };
  }

  async countInFolder(folderId: string): Promise<number> {
    return this.em.count(SecretEntity, { folderId });
  }

  /** Adds a secret at version 1 to the unit of work. */
  insert(id: string, input: SecretInput, entries: SealedEntry[], now: Date): Secret {
    return toSecret(this.em.create(SecretEntity, { id, ...input, currentVersion: 1, entries, createTime: now, updateTime: now, version: 1 }));
  }

  /** Changes the metadata in the unit of work; the flush checks the version this unit of work read. */
  async change(id: string, next: Omit<SecretInput, 'folderId'>, now: Date): Promise<void> {
    const e = await this.em.findOneOrFail(SecretEntity, { id });
    this.em.assign(e, { name: next.name, description: next.description, labels: next.labels, updateTime: now });
  }

  /** Replaces the entries with the next version's, in the unit of work. */
  async replaceEntries(id: string, currentVersion: number, entries: SealedEntry[], now: Date): Promise<void> {
    const e = await this.em.findOneOrFail(SecretEntity, { id });
    this.em.assign(e, { currentVersion, entries, updateTime: now });
  }

  async remove(id: string): Promise<void> {
    const e = await this.em.findOne(SecretEntity, { id });
    if (e) this.em.remove(e);
  }
}
