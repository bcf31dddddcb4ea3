import { isDeepStrictEqual } from 'node:util';
import { ConflictError, FailedPreconditionError, NotFoundError, QuotaExceededError, UnavailableError, ValidationError } from '../domain/errors';
import type { Instance } from '../domain/instance';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { DEFAULT_CONFIGURATIONS, resolveConfiguration, type ConfigurationCatalog } from '../domain/configuration';
import { secretUsesOf, validateNode, withDefaults, type Node, type NodeInput, type NodeSpec } from '../domain/node';
import type { Operation } from '../domain/operation';
import { apiSignature } from '../domain/typed-api';
import { newId } from '../store/ids';
import type { NodeView } from '../store/node.repository';
import type { Store } from '../store/store';
import { checkEtag } from '../store/translate';
import { inTransaction, store, type ControlContext } from './context';
import type { Environments } from './environments';
import type { Folders } from './folders';
import { checkSecretUses } from './secrets';

export type { NodeView } from '../store/node.repository';

/**
 * Why instances cannot get GPUs where this Berth runs them, as a sentence, or
 * undefined when they can (the runtime's `capabilities()`); throws when the
 * runtime cannot be asked.
 */
export type GpuUnavailable = () => Promise<string | undefined>;

/** Node use cases. Instances are the supervisor's; these only change desired state. */
export class Nodes {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    /** Told after every write of desired state, so the supervisor reconciles at once. */
    private readonly onChange: (nodeId: string) => void = () => undefined,
    /** Instances each folder's nodes may run together (the sum of their instance_range.max); 0: no quota. */
    private readonly instanceQuota = 0,
    private readonly gpuUnavailable: GpuUnavailable = async () => 'no runtime that can give GPUs is known',
    /** Probes checkpoint nodes' environments; without it none is checked. */
    private readonly environments?: Environments,
    /** The named configurations nodes may name, and whether raw ones are allowed. */
    private readonly configurations: ConfigurationCatalog = { configurations: [...DEFAULT_CONFIGURATIONS], rawAllowed: true },
  ) {}

  /**
   * FAILED_PRECONDITION when the spec asks for GPUs the runtime cannot give:
   * stored, such a node would only fail at every start. UNAVAILABLE when the
   * runtime cannot be asked. Specs without GPUs never ask.
   */
  private async checkGpu(spec: NodeSpec): Promise<void> {
    const gpu = spec.configuration.gpu;
    if (gpu <= 0) return;
    let reason: string | undefined;
    try {
      reason = await this.gpuUnavailable();
    } catch (err) {
      throw new UnavailableError(`cannot tell whether the runtime has GPUs: ${(err as Error).message}`, { cause: err });
    }
    if (reason !== undefined)
      throw new FailedPreconditionError(`node.spec.configuration.gpu asks for ${gpu} GPU${gpu === 1 ? '' : 's'}, but ${reason}`, 'runtime', 'GPU_UNAVAILABLE');
  }

  /**
   * FAILED_PRECONDITION when a checkpoint node's environment cannot restore
   * its checkpoint. Checked before the transaction (the probe may start a
   * container): a checkpoint does not change once ready, and a missing or
   * unready one is reported by the checks in the transaction.
   */
  private async checkEnvironment(input: NodeInput, nodeId?: string): Promise<void> {
    const src = input.spec.source;
    if (src.kind !== 'checkpoint' || !this.environments) return;
    const cp = await store(this.ctx).checkpoints.get(src.checkpointId);
    if (!cp || cp.folderId !== input.folderId) return;
    await this.environments.checkRestorable(cp, src.environmentImage, nodeId);
  }

  /**
   * RESOURCE_EXHAUSTED when the folder's nodes, with `nodeId` running up to
   * `max` instances, could run more than the folder's quota. The caller holds
   * the folder locked for update, so that two writes cannot both fit.
   */
  private async checkInstanceQuota(s: Store, folderId: string, nodeId: string, max: number): Promise<void> {
    if (this.instanceQuota <= 0) return;
    const others = await s.nodes.instancesReserved(folderId, nodeId);
    if (others + max > this.instanceQuota)
      throw new QuotaExceededError(
        `folder ${folderId} may run ${this.instanceQuota} instances; its other nodes take up to ${others}, so this node may have at most ${Math.max(0, this.instanceQuota - others)} (node.spec.instance_range.max)`,
        `folders/${folderId}/instances`,
      );
  }

  /**
   * The folder exists (and stays: it is locked against its deletion until the
   * node is stored), the checkpoint is ready in it and the secrets are in it
   * with the keys the node reads (both locked against their deletion).
   */
  private async checkReferences(s: Store, input: NodeInput, folderLock: 'share' | 'update' = 'share'): Promise<void> {
    if (!(await s.folders.lock(input.folderId, folderLock))) throw new NotFoundError('folder', input.folderId, 'node.folder_id');
    await this.checkCheckpoint(s, input);
    await checkSecretUses(s, input.folderId, secretUsesOf(input.spec));
  }

  private async checkCheckpoint(s: Store, input: NodeInput): Promise<void> {
    const src = input.spec.source;
    if (src.kind === 'checkpoint') {
      const cp = await s.checkpoints.lock(src.checkpointId, 'share');
      if (!cp) throw new NotFoundError('checkpoint', src.checkpointId, 'node.spec.checkpoint.checkpoint_id');
      if (cp.folderId !== input.folderId)
        throw ValidationError.of('node.spec.checkpoint.checkpoint_id', `checkpoint ${cp.id} is in folder ${cp.folderId}, not ${input.folderId}`);
      if (cp.state !== 'ready')
        throw new FailedPreconditionError(`checkpoint ${cp.id} is ${cp.state}, not ready`, `checkpoints/${cp.id}`);
    }
  }

  /** Stores the node and a pending CreateNode operation in one transaction. */
  async create(raw: NodeInput): Promise<Operation> {
    const spec = withDefaults(raw.spec);
    const input = { ...raw, spec: { ...spec, configuration: resolveConfiguration(spec.configuration, this.configurations) } };
    validateNode(input);
    await this.checkGpu(input.spec);
    await this.checkEnvironment(input);
    const id = newId('nd');
    const op = await inTransaction(this.ctx, { kind: 'node', id }, async (s) => {
      // With a quota, creates in one folder are serial: each sees the others' reservations.
      await this.checkReferences(s, input, this.instanceQuota > 0 ? 'update' : 'share');
      await this.checkInstanceQuota(s, input.folderId, id, input.spec.instanceRange.max);
      const now = this.ctx.now();
      s.nodes.insert(id, input, now);
      const started = s.operations.start(now, input.folderId, 'CreateNode', id);
      await s.flush('node', { id, name: input.name, scope: `folder ${input.folderId}` });
      return started;
    });
    this.onChange(id);
    return op;
  }

  async get(id: string, field = 'node_id'): Promise<NodeView> {
    const view = await store(this.ctx).nodes.getView(id);
    if (!view) throw new NotFoundError('node', id, field);
    return view;
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<NodeView>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const clauses = parseFilter(filter, ['name', 'kind', 'state']);
    return store(this.ctx).nodes.list(folderId, clauses, page, `nodes|${folderId}|${filter}`);
  }

  /**
   * Applies a change computed from the current node. A spec change bumps
   * generation so that the supervisor rolls instances over; the kind and the
   * checkpoint are immutable (a new node and an alias switch replace them).
   * The secrets the new spec uses are checked and locked as at creation; the
   * write checks the version read (a concurrent change → ABORTED).
   */
  async update(id: string, mutate: (current: NodeInput) => NodeInput, etag?: string): Promise<NodeView> {
    // A new environment image is probed before the transaction; the change checks it is still the one probed.
    const checked = await this.checkEnvironmentChange(id, mutate);
    const view = await inTransaction(this.ctx, { kind: 'node', id }, (s) => this.change(s, id, mutate, etag, checked));
    this.onChange(id);
    return view;
  }

  /**
   * A node behind an alias keeps the inputs and outputs the alias's typed API
   * promises: changing them would break the stubs its callers generated.
   */
  private async checkAliasApis(s: Store, folderId: string, id: string, was: NodeSpec, now: NodeSpec): Promise<void> {
    if (apiSignature(was) === apiSignature(now)) return;
    const users = await s.aliases.targeting(folderId, id);
    if (users.length === 0) return;
    throw new FailedPreconditionError(
      `node ${id} is a target of alias ${users.map((a) => JSON.stringify(a.name)).join(', ')}, whose API has ${apiSignature(was)}; ` +
        'create a node with the new variables and a new alias for it, or remove this node from the alias first',
      `aliases/${users[0]!.id}`,
    );
  }

  /** The environment image an update gives a checkpoint node, checked; undefined when it keeps its environment. */
  private async checkEnvironmentChange(id: string, mutate: (current: NodeInput) => NodeInput): Promise<string | undefined> {
    const e = await store(this.ctx).nodes.get(id);
    if (!e || e.spec.source.kind !== 'checkpoint') return undefined;
    const current: NodeInput = { folderId: e.folderId, name: e.name, description: e.description, labels: e.labels, spec: e.spec };
    let next: NodeInput;
    try {
      next = mutate(structuredClone(current));
    } catch {
      return undefined; // the transaction calls it again and reports the error
    }
    const src = next.spec.source;
    if (src.kind !== 'checkpoint' || src.environmentImage === e.spec.source.environmentImage || src.checkpointId !== e.spec.source.checkpointId) return undefined;
    await this.checkEnvironment(next, id);
    return src.environmentImage;
  }

  private async change(s: Store, id: string, mutate: (current: NodeInput) => NodeInput, etag?: string, checkedImage?: string): Promise<NodeView> {
    // The folder first (the lock order): an update that grows the node checks the folder's instance quota.
    const folderId = (await s.nodes.get(id))?.folderId;
    if (folderId && this.instanceQuota > 0) await s.folders.lock(folderId, 'update');
    const e = await s.nodes.get(id);
    if (!e) throw new NotFoundError('node', id, 'node.id');
    checkEtag('node', id, e.version, etag);
    if (e.deleting) throw new FailedPreconditionError(`node ${id} is being deleted`, `nodes/${id}`);
    const current: NodeInput = { folderId: e.folderId, name: e.name, description: e.description, labels: e.labels, spec: e.spec };
    const mutated = mutate(structuredClone(current));
    const spec = withDefaults(mutated.spec);
    const next = { ...mutated, spec: { ...spec, configuration: resolveConfiguration(spec.configuration, this.configurations, e.spec.configuration) } };
    if (next.folderId !== e.folderId) throw ValidationError.of('node.folder_id', 'is immutable; create a node in the other folder');
    if (next.spec.source.kind !== e.spec.source.kind)
      throw ValidationError.of(`node.spec.${next.spec.source.kind}`, `the node is a ${e.spec.source.kind} node; its kind is immutable`);
    if (next.spec.source.kind === 'checkpoint' && e.spec.source.kind === 'checkpoint' && next.spec.source.checkpointId !== e.spec.source.checkpointId)
      throw ValidationError.of('node.spec.checkpoint.checkpoint_id', 'is immutable; create a new node and switch an alias to it');
    validateNode(next);
    await this.checkAliasApis(s, e.folderId, id, e.spec, next.spec);
    // Only a change of the GPU count asks: a node stored with GPUs keeps its other updates when the runtime loses them.
    if (next.spec.configuration.gpu !== e.spec.configuration.gpu) await this.checkGpu(next.spec);
    const [was, now] = [e.spec.source, next.spec.source];
    if (was.kind === 'checkpoint' && now.kind === 'checkpoint' && now.environmentImage !== was.environmentImage && now.environmentImage !== checkedImage)
      throw new ConflictError('node', id, 'changed while its new environment image was checked');
    if (!e.suspended && next.spec.instanceRange.max > e.spec.instanceRange.max) await this.checkInstanceQuota(s, e.folderId, id, next.spec.instanceRange.max);
    // Deep equality, not JSON text: the database may hand JSON back with its keys reordered.
    const specChanged = !isDeepStrictEqual(next.spec, e.spec);
    if (specChanged) await checkSecretUses(s, e.folderId, secretUsesOf(next.spec));
    await s.nodes.change(id, {
      name: next.name,
      description: next.description,
      labels: next.labels,
      ...(specChanged ? { spec: next.spec, generation: e.generation + 1 } : {}),
      updateTime: this.ctx.now(),
    });
    await s.flush('node', { id, name: next.name, scope: `folder ${e.folderId}` });
    return (await s.nodes.getView(id))!;
  }

  /**
   * Marks the node for deletion; the supervisor stops its instances and then
   * removes it. A node without instances is removed at once. Repeated calls
   * while the deletion runs return the same operation. The node row is locked
   * for the check that no alias targets it and the write, and an alias locks
   * its targets: no alias can come to point at a deleted node.
   */
  async delete(id: string, etag?: string): Promise<Operation> {
    const op = await inTransaction(this.ctx, { kind: 'node', id }, async (s) => {
      const node = await s.nodes.lock(id, 'update');
      if (!node) throw new NotFoundError('node', id, 'node_id');
      checkEtag('node', id, node.version, etag);
      const users = await s.aliases.targeting(node.folderId, id);
      if (users.length > 0)
        throw new FailedPreconditionError(
          `node ${id} is a target of alias ${users.map((a) => JSON.stringify(a.name)).join(', ')}; remove it from the alias first`,
          `aliases/${users[0]!.id}`,
          'IN_USE',
        );
      if (node.deleting) {
        const existing = await s.operations.latest(id, 'DeleteNode');
        if (existing) return existing;
      }
      const now = this.ctx.now();
      await s.operations.finishPending(id, ['CreateNode', 'ResumeNode', 'SuspendNode'], now, {
        kind: 'error',
        code: 'CANCELLED',
        message: `node ${id} is being deleted`,
      }, true);
      let started: Operation;
      if (await s.nodes.hasInstances(id)) {
        await s.nodes.change(id, { deleting: true, updateTime: now });
        await s.nodes.setStatusState(id, 'deleting', 'deletion requested');
        started = s.operations.start(now, node.folderId, 'DeleteNode', id);
      } else {
        await s.nodes.remove(id);
        started = s.operations.start(now, node.folderId, 'DeleteNode', id, { kind: 'response', resource: 'empty', resourceId: id });
      }
      await s.flush('node', { id });
      return started;
    });
    this.onChange(id);
    return op;
  }

  /** Suspend and resume flip desired state; the supervisor finishes the operation. */
  async setSuspended(id: string, suspended: boolean): Promise<Operation> {
    const op = await inTransaction(this.ctx, { kind: 'node', id }, async (s) => {
      const folderId = (await s.nodes.get(id))?.folderId;
      if (folderId && !suspended && this.instanceQuota > 0) await s.folders.lock(folderId, 'update');
      const node = await s.nodes.lock(id, 'update');
      if (!node) throw new NotFoundError('node', id, 'node_id');
      if (node.deleting) throw new FailedPreconditionError(`node ${id} is being deleted`, `nodes/${id}`);
      if (!suspended && node.suspended) await this.checkInstanceQuota(s, node.folderId, id, node.spec.instanceRange.max);
      const now = this.ctx.now();
      const kind = suspended ? 'SuspendNode' : 'ResumeNode';
      await s.operations.finishPending(id, [suspended ? 'ResumeNode' : 'SuspendNode'], now, {
        kind: 'error',
        code: 'CANCELLED',
        message: `superseded by ${kind}`,
      }, true);
      let finished = node.suspended === suspended;
      if (!finished) {
        await s.nodes.change(id, { suspended, updateTime: now });
        if (suspended && !(await s.nodes.hasInstances(id))) {
          await s.nodes.setStatusState(id, 'suspended', 'suspended by request');
          finished = true;
        }
      }
      const started = s.operations.start(now, node.folderId, kind, id, finished ? { kind: 'response', resource: 'node', resourceId: id } : undefined);
      await s.flush('node', { id });
      return started;
    });
    this.onChange(id);
    return op;
  }

  /** Every checkpoint node that is not being deleted, in all folders: their generated APIs are served. */
  async checkpointNodes(): Promise<Node[]> {
    return store(this.ctx).nodes.checkpointNodes();
  }

  async listInstances(nodeId: string, page: PageRequest): Promise<Page<Instance>> {
    const s = store(this.ctx);
    if (!(await s.nodes.exists(nodeId))) throw new NotFoundError('node', nodeId, 'node_id');
    return s.nodes.listInstances(nodeId, page, `instances|${nodeId}`);
  }
}
