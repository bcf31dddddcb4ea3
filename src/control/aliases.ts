import { validateAlias, type Alias, type AliasInput, type AliasTarget } from '../domain/alias';
import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { NotFoundError, ValidationError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { apiSignature } from '../domain/typed-api';
import { Violations } from '../domain/validation';
import { newId } from '../store/ids';
import type { Store } from '../store/store';
import { checkEtag } from '../store/translate';
import { inTransaction, store, type ControlContext } from './context';
import type { Folders } from './folders';


/** Alias use cases. */
export class Aliases {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    /** Told after a write, with the names the alias had before and has now, so routing caches drop it at once and typed APIs follow. */
    private readonly onChange: (folderId: string, names: string[]) => void = () => undefined,
    /** Where a switch is told to the nodes it concerns (their events). */
    private readonly events: NodeEventSink = NO_EVENTS,
  ) {}

  /** An AliasSwitched event on each node whose share of the alias's calls changed. */
  private switched(name: string, before: AliasTarget[], after: AliasTarget[]): void {
    const weights = new Map<string, { from: number; to: number }>();
    for (const t of before) weights.set(t.nodeId, { from: t.weight, to: 0 });
    for (const t of after) weights.set(t.nodeId, { from: weights.get(t.nodeId)?.from ?? 0, to: t.weight });
    for (const [nodeId, { from, to }] of weights) {
      if (from !== to) this.events.record({ nodeId, reason: 'AliasSwitched', message: `alias ${JSON.stringify(name)} sends ${to}% of its calls here (was ${from}%)` });
    }
  }

  /**
   * Targets must exist, live in the alias's folder, not be being deleted and
   * offer the same API. They are locked until the alias is written, so none
   * can be deleted in between (a node's deletion locks it and checks no alias
   * targets it).
   */
  private async checkTargets(s: Store, input: AliasInput): Promise<void> {
    const nodes = await s.nodes.lockMany(input.targets.map((t) => t.nodeId), 'share');
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

  /** Stores the alias with its folder and targets locked: neither can be deleted meanwhile. */
  async create(input: AliasInput): Promise<Alias> {
    validateAlias(input);
    const id = newId('al');
    const alias = await inTransaction(this.ctx, { kind: 'alias', id }, async (s) => {
      if (!(await s.folders.lock(input.folderId, 'share'))) throw new NotFoundError('folder', input.folderId, 'alias.folder_id');
      await this.checkTargets(s, input);
      const created = s.aliases.insert(id, input, this.ctx.now());
      await s.flush('alias', { id, name: input.name, scope: `folder ${input.folderId}` });
      return created;
    });
    this.onChange(alias.folderId, [alias.name]);
    this.switched(alias.name, [], alias.targets);
    return alias;
  }

  async get(id: string): Promise<Alias> {
    const alias = await store(this.ctx).aliases.get(id);
    if (!alias) throw new NotFoundError('alias', id, 'alias_id');
    return alias;
  }

  /** Looks an alias up the way callers name it: by folder and name. */
  async getByName(folderId: string, name: string): Promise<Alias> {
    const alias = await store(this.ctx).aliases.getByName(folderId, name);
    if (!alias) throw new NotFoundError('alias', `${folderId}/${name}`, 'alias_name');
    return alias;
  }

  /** Every alias, in every folder. */
  async all(): Promise<Alias[]> {
    return store(this.ctx).aliases.all();
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Alias>> {
    await this.folders.mustExist(folderId, 'folder_id');
    return store(this.ctx).aliases.list(folderId, parseFilter(filter, ['name']), page, `aliases|${folderId}|${filter}`);
  }

  /**
   * One row update: a target switch is atomic for every reader. The new
   * targets are locked like at creation; the alias row itself is checked by
   * its version when written (a concurrent change → ABORTED).
   */
  async update(id: string, mutate: (current: AliasInput) => AliasInput, etag?: string): Promise<Alias> {
    const { alias, before, targets } = await inTransaction(this.ctx, { kind: 'alias', id }, async (s) => {
      const e = await s.aliases.get(id);
      if (!e) throw new NotFoundError('alias', id, 'alias.id');
      checkEtag('alias', id, e.version, etag);
      const current: AliasInput = { folderId: e.folderId, name: e.name, description: e.description, targets: e.targets, metadata: e.metadata, access: e.access };
      const next = mutate(structuredClone(current));
      if (next.folderId !== e.folderId) throw ValidationError.of('alias.folder_id', 'is immutable');
      validateAlias(next);
      await this.checkTargets(s, next);
      await s.aliases.change(id, next, this.ctx.now());
      await s.flush('alias', { id, name: next.name, scope: `folder ${e.folderId}` });
      return { alias: (await s.aliases.get(id))!, before: current.name, targets: current.targets };
    });
    this.onChange(alias.folderId, [before, alias.name]);
    this.switched(alias.name, targets, alias.targets);
    return alias;
  }

  async delete(id: string, etag?: string): Promise<void> {
    const s = store(this.ctx);
    const e = await s.aliases.get(id);
    if (!e) throw new NotFoundError('alias', id, 'alias_id');
    checkEtag('alias', id, e.version, etag);
    await s.aliases.remove(id);
    await s.flush('alias', { id });
    this.onChange(e.folderId, [e.name]);
    this.switched(e.name, e.targets, []);
  }
}
