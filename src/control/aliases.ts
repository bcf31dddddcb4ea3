import type { EntityManager } from '@mikro-orm/core';
import { validateAlias, type Alias, type AliasInput } from '../domain/alias';
import { NotFoundError, ValidationError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import type { NodeSpec } from '../domain/node';
import { Violations } from '../domain/validation';
import { AliasEntity } from '../store/entities/alias.entity';
import { NodeEntity } from '../store/entities/node.entity';
import { newId } from '../store/ids';
import { listPage, whereOf } from '../store/paging';
import { checkEtag, translateWrite } from '../store/translate';
import { fork, type ControlContext } from './context';
import type { Folders } from './folders';

export function toAlias(e: AliasEntity): Alias {
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

/** What callers of an alias rely on staying the same whichever target answers. */
function apiSignature(spec: NodeSpec): string {
  const src = spec.source;
  if (src.kind === 'docker') return `docker endpoint ${src.endpoint.type}`;
  const inputs = [...src.inputVariables].sort((a, b) => a.name.localeCompare(b.name)).map((v) => `${v.name}: ${v.type}`);
  return `checkpoint inputs (${inputs.join(', ')})`;
}

/** Alias use cases. */
export class Aliases {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    /** Told after a write, with the names the alias had before and has now, so routing caches drop it at once. */
    private readonly onChange: (folderId: string, names: string[]) => void = () => undefined,
  ) {}

  /** Targets must exist, live in the alias's folder and offer the same API. */
  private async checkTargets(em: EntityManager, input: AliasInput): Promise<void> {
    const nodes = await em.find(NodeEntity, { id: { $in: input.targets.map((t) => t.nodeId) } });
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const v = new Violations();
    let first: { index: number; signature: string } | undefined;
    for (const [i, t] of input.targets.entries()) {
      const node = byId.get(t.nodeId);
      const field = `alias.targets[${i}].node_id`;
      if (!node) throw new NotFoundError('node', t.nodeId, field);
      if (node.folderId !== input.folderId) v.add(field, `node ${t.nodeId} is in folder ${node.folderId}, not in the alias's folder ${input.folderId}`);
      else if (node.deleting) v.add(field, `node ${t.nodeId} is being deleted`);
      const signature = apiSignature(node.spec);
      if (!first) first = { index: i, signature };
      else if (signature !== first.signature)
        v.add(field, `node ${t.nodeId} has ${signature}, but targets[${first.index}] has ${first.signature}; an alias's targets must offer the same API`);
    }
    v.throwIfAny();
  }

  async create(input: AliasInput): Promise<Alias> {
    validateAlias(input);
    await this.folders.mustExist(input.folderId, 'alias.folder_id');
    const em = fork(this.ctx);
    await this.checkTargets(em, input);
    const now = this.ctx.now();
    const entity = em.create(AliasEntity, { id: newId('al'), ...input, createTime: now, updateTime: now, version: 1 });
    await translateWrite('alias', { id: entity.id, name: input.name, scope: `folder ${input.folderId}` }, () => em.persistAndFlush(entity));
    return toAlias(entity);
  }

  async get(id: string): Promise<Alias> {
    const e = await fork(this.ctx).findOne(AliasEntity, { id });
    if (!e) throw new NotFoundError('alias', id, 'alias_id');
    return toAlias(e);
  }

  /** Looks an alias up the way callers name it: by folder and name. */
  async getByName(folderId: string, name: string): Promise<Alias> {
    const e = await fork(this.ctx).findOne(AliasEntity, { folderId, name });
    if (!e) throw new NotFoundError('alias', `${folderId}/${name}`, 'alias_name');
    return toAlias(e);
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Alias>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const clauses = parseFilter(filter, ['name']);
    const where = { ...whereOf(clauses, {}), folderId };
    const result = await listPage(fork(this.ctx), AliasEntity, where, page, `aliases|${folderId}|${filter}`);
    return { items: result.items.map(toAlias), nextPageToken: result.nextPageToken };
  }

  /** One row update: a target switch is atomic for every reader. */
  async update(id: string, mutate: (current: AliasInput) => AliasInput, etag?: string): Promise<Alias> {
    const em = fork(this.ctx);
    const e = await em.findOne(AliasEntity, { id });
    if (!e) throw new NotFoundError('alias', id, 'alias.id');
    checkEtag('alias', id, e.version, etag);
    const current: AliasInput = { folderId: e.folderId, name: e.name, description: e.description, targets: e.targets, metadata: e.metadata, access: e.access };
    const next = mutate(structuredClone(current));
    if (next.folderId !== e.folderId) throw ValidationError.of('alias.folder_id', 'is immutable');
    validateAlias(next);
    await this.checkTargets(em, next);
    em.assign(e, { name: next.name, description: next.description, targets: next.targets, metadata: next.metadata, access: next.access, updateTime: this.ctx.now() });
    const before = current.name;
    await translateWrite('alias', { id, name: next.name, scope: `folder ${e.folderId}` }, () => em.flush());
    this.onChange(e.folderId, [before, next.name]);
    return toAlias(e);
  }

  async delete(id: string, etag?: string): Promise<void> {
    const em = fork(this.ctx);
    const e = await em.findOne(AliasEntity, { id });
    if (!e) throw new NotFoundError('alias', id, 'alias_id');
    checkEtag('alias', id, e.version, etag);
    await translateWrite('alias', { id }, () => em.removeAndFlush(e));
    this.onChange(e.folderId, [e.name]);
  }
}
