import type { EntityManager } from '@mikro-orm/core';
import type { Checkpoint, CheckpointState } from '../domain/checkpoint';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import { CheckpointEntity } from './entities/checkpoint.entity';
import { listPage, whereOf } from './paging';
import { lockModeOf, type RowLock } from './row-lock';

function toCheckpoint(e: CheckpointEntity): Checkpoint {
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
    environmentImage: e.environmentImage ?? '',
    environmentImageId: e.environmentImageId ?? '',
    moduleVersions: e.moduleVersions ?? {},
    createTime: e.createTime,
    version: e.version,
  };
}

export type NewCheckpoint = Pick<Checkpoint, 'id' | 'folderId' | 'name' | 'description' | 'cellSources' | 'servedCellIndex' | 'environmentImage' | 'createTime'>;
export type CheckpointChange = Partial<Pick<Checkpoint, 'state' | 'digest' | 'sizeBytes' | 'pythonVersion' | 'variables' | 'environmentImageId' | 'moduleVersions'>>;

/** Checkpoint rows: the queries and the mapping to the domain's Checkpoint. Writes join the unit of work. */
export class CheckpointRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Checkpoint | undefined> {
    const e = await this.em.findOne(CheckpointEntity, { id });
    return e ? toCheckpoint(e) : undefined;
  }

  /** Reads the checkpoint and holds it until the transaction ends (see RowLock). */
  async lock(id: string, lock: RowLock): Promise<Checkpoint | undefined> {
    const e = await this.em.findOne(CheckpointEntity, { id }, { lockMode: lockModeOf(lock), refresh: true });
    return e ? toCheckpoint(e) : undefined;
  }

  async list(folderId: string, clauses: FilterClause[], page: PageRequest, query: string): Promise<Page<Checkpoint>> {
    const result = await listPage(this.em, CheckpointEntity, { ...whereOf(clauses, {}), folderId }, page, query);
    return { items: result.items.map(toCheckpoint), nextPageToken: result.nextPageToken };
  }

  async countInFolder(folderId: string): Promise<number> {
    return this.em.count(CheckpointEntity, { folderId });
  }

  /** Checkpoints of a folder that count against its quota: all but the failed ones. */
  async countPinned(folderId: string): Promise<number> {
    return this.em.count(CheckpointEntity, { folderId, state: { $ne: 'failed' } });
  }

  async countWithDigest(digest: string): Promise<number> {
    return this.em.count(CheckpointEntity, { digest });
  }

  /** Captures still running, all of them or those created before `before`. */
  async capturing(before?: Date): Promise<Checkpoint[]> {
    const rows = await this.em.find(CheckpointEntity, before ? { state: 'capturing', createTime: { $lt: before } } : { state: 'capturing' });
    return rows.map(toCheckpoint);
  }

  insert(input: NewCheckpoint, state: CheckpointState): void {
    this.em.create(CheckpointEntity, { ...input, state, digest: '', sizeBytes: 0, pythonVersion: '', variables: [], environmentImageId: '', moduleVersions: {}, version: 1 });
  }

  async change(id: string, change: CheckpointChange): Promise<void> {
    const e = await this.em.findOne(CheckpointEntity, { id });
    if (e) this.em.assign(e, change);
  }

  async remove(id: string): Promise<void> {
    const e = await this.em.findOne(CheckpointEntity, { id });
    if (e) this.em.remove(e);
  }
}
