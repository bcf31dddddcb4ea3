import { isDeepStrictEqual } from 'node:util';
import type { EntityManager } from '@mikro-orm/core';
import { FailedPreconditionError, NotFoundError, ValidationError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import { initialNodeStatus, validateNode, withDefaults, type Node, type NodeInput, type NodeStatus } from '../domain/node';
import type { Operation } from '../domain/operation';
import { AliasEntity } from '../store/entities/alias.entity';
import { CheckpointEntity } from '../store/entities/checkpoint.entity';
import { InstanceEntity } from '../store/entities/instance.entity';
import { NodeEntity, NodeStatusEntity } from '../store/entities/node.entity';
import { OperationEntity } from '../store/entities/operation.entity';
import { newId } from '../store/ids';
import { listPage, whereOf } from '../store/paging';
import { checkEtag, translateWrite } from '../store/translate';
import { fork, type ControlContext } from './context';
import type { Folders } from './folders';
import { finishOperation, finishPending, startOperation, toOperation } from './operations';

/** A node as the API shows it: desired state and observed status together. */
export interface NodeView extends Node {
  status: NodeStatus;
}

export function toNode(e: NodeEntity): Node {
  return {
    id: e.id,
    folderId: e.folderId,
    name: e.name,
    description: e.description,
    labels: e.labels,
    spec: e.spec,
    generation: e.generation,
    suspended: e.suspended,
    deleting: e.deleting,
    createTime: e.createTime,
    updateTime: e.updateTime,
    version: e.version,
  };
}

async function withStatus(em: EntityManager, nodes: NodeEntity[]): Promise<NodeView[]> {
  if (nodes.length === 0) return [];
  const statuses = await em.find(NodeStatusEntity, { nodeId: { $in: nodes.map((n) => n.id) } });
  const byId = new Map(statuses.map((s) => [s.nodeId, s.status]));
  return nodes.map((n) => ({ ...toNode(n), status: byId.get(n.id) ?? initialNodeStatus() }));
}

const FILTER_COLUMNS = { name: 'name', kind: 'kind' };

/** Node use cases. Instances are the supervisor's; these only change desired state. */
export class Nodes {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    /** Told after every write of desired state, so the supervisor reconciles at once. */
    private readonly onChange: (nodeId: string) => void = () => undefined,
  ) {}

  private async checkReferences(em: EntityManager, input: NodeInput): Promise<void> {
    await this.folders.mustExist(input.folderId, 'node.folder_id');
    const src = input.spec.source;
    if (src.kind === 'checkpoint') {
      const cp = await em.findOne(CheckpointEntity, { id: src.checkpointId });
      if (!cp) throw new NotFoundError('checkpoint', src.checkpointId, 'node.spec.checkpoint.checkpoint_id');
      if (cp.folderId !== input.folderId)
        throw ValidationError.of('node.spec.checkpoint.checkpoint_id', `checkpoint ${cp.id} is in folder ${cp.folderId}, not ${input.folderId}`);
      if (cp.state !== 'ready')
        throw new FailedPreconditionError(`checkpoint ${cp.id} is ${cp.state}, not ready`, `checkpoints/${cp.id}`);
    }
  }

  /** Stores the node and a pending CreateNode operation in one transaction. */
  async create(raw: NodeInput): Promise<Operation> {
    const input = { ...raw, spec: withDefaults(raw.spec) };
    validateNode(input);
    const em = fork(this.ctx);
    await this.checkReferences(em, input);
    const now = this.ctx.now();
    const id = newId('nd');
    em.create(NodeEntity, {
      id,
      ...input,
      kind: input.spec.source.kind,
      generation: 1,
      suspended: false,
      deleting: false,
      createTime: now,
      updateTime: now,
      version: 1,
    });
    em.create(NodeStatusEntity, { nodeId: id, status: initialNodeStatus(), version: 1 });
    const op = startOperation(em, now, input.folderId, 'CreateNode', id);
    await translateWrite('node', { id, name: input.name, scope: `folder ${input.folderId}` }, () => em.flush());
    this.onChange(id);
    return toOperation(op);
  }

  async get(id: string, field = 'node_id'): Promise<NodeView> {
    const em = fork(this.ctx);
    const e = await em.findOne(NodeEntity, { id });
    if (!e) throw new NotFoundError('node', id, field);
    return (await withStatus(em, [e]))[0]!;
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<NodeView>> {
    await this.folders.mustExist(folderId, 'folder_id');
    const clauses = parseFilter(filter, ['name', 'kind', 'state']);
    const stateClause = clauses.find((c) => c.field === 'state');
    const em = fork(this.ctx);
    const where = { ...whereOf(clauses.filter((c) => c !== stateClause), FILTER_COLUMNS), folderId };
    if (stateClause) {
      const wanted = stateClause.value.toLowerCase();
      // Only this folder's statuses: the state lives in the status row, not in the node row.
      const ids = (await em.find(NodeEntity, { folderId }, { fields: ['id'] })).map((n) => n.id);
      const statuses = await em.find(NodeStatusEntity, { nodeId: { $in: ids } }, { fields: ['nodeId', 'status'] });
      (where as Record<string, unknown>).id = { $in: statuses.filter((s) => s.status.state === wanted).map((s) => s.nodeId) };
    }
    const result = await listPage(em, NodeEntity, where, page, `nodes|${folderId}|${filter}`);
    return { items: await withStatus(em, result.items), nextPageToken: result.nextPageToken };
  }

  /**
   * Applies a change computed from the current node. A spec change bumps
   * generation so that the supervisor rolls instances over; the kind and the
   * checkpoint are immutable (a new node and an alias switch replace them).
   */
  async update(id: string, mutate: (current: NodeInput) => NodeInput, etag?: string): Promise<NodeView> {
    const em = fork(this.ctx);
    const e = await em.findOne(NodeEntity, { id });
    if (!e) throw new NotFoundError('node', id, 'node.id');
    checkEtag('node', id, e.version, etag);
    if (e.deleting) throw new FailedPreconditionError(`node ${id} is being deleted`, `nodes/${id}`);
    const current: NodeInput = { folderId: e.folderId, name: e.name, description: e.description, labels: e.labels, spec: e.spec };
    const mutated = mutate(structuredClone(current));
    const next = { ...mutated, spec: withDefaults(mutated.spec) };
    if (next.folderId !== e.folderId) throw ValidationError.of('node.folder_id', 'is immutable; create a node in the other folder');
    if (next.spec.source.kind !== e.spec.source.kind)
      throw ValidationError.of(`node.spec.${next.spec.source.kind}`, `the node is a ${e.spec.source.kind} node; its kind is immutable`);
    if (next.spec.source.kind === 'checkpoint' && e.spec.source.kind === 'checkpoint' && next.spec.source.checkpointId !== e.spec.source.checkpointId)
      throw ValidationError.of('node.spec.checkpoint.checkpoint_id', 'is immutable; create a new node and switch an alias to it');
    validateNode(next);
    // Deep equality, not JSON text: the database may hand JSON back with its keys reordered.
    const specChanged = !isDeepStrictEqual(next.spec, e.spec);
    em.assign(e, {
      name: next.name,
      description: next.description,
      labels: next.labels,
      ...(specChanged ? { spec: next.spec, generation: e.generation + 1 } : {}),
      updateTime: this.ctx.now(),
    });
    await translateWrite('node', { id, name: next.name, scope: `folder ${e.folderId}` }, () => em.flush());
    this.onChange(id);
    return (await withStatus(em, [e]))[0]!;
  }

  /**
   * Marks the node for deletion; the supervisor stops its instances and then
   * removes it. A node without instances is removed at once. Repeated calls
   * while the deletion runs return the same operation.
   */
  async delete(id: string, etag?: string): Promise<Operation> {
    const em = fork(this.ctx);
    const e = await em.findOne(NodeEntity, { id });
    if (!e) throw new NotFoundError('node', id, 'node_id');
    checkEtag('node', id, e.version, etag);
    const aliases = await em.find(AliasEntity, { folderId: e.folderId });
    const users = aliases.filter((a) => a.targets.some((t) => t.nodeId === id));
    if (users.length > 0)
      throw new FailedPreconditionError(
        `node ${id} is a target of alias ${users.map((a) => JSON.stringify(a.name)).join(', ')}; remove it from the alias first`,
        `aliases/${users[0]!.id}`,
        'IN_USE',
      );
    if (e.deleting) {
      const existing = await em.findOne(OperationEntity, { resourceId: id, description: 'DeleteNode' }, { orderBy: { id: 'desc' } });
      if (existing) return toOperation(existing);
    }
    const now = this.ctx.now();
    e.deleting = true;
    e.updateTime = now;
    const op = startOperation(em, now, e.folderId, 'DeleteNode', id);
    const status = await em.findOne(NodeStatusEntity, { nodeId: id });
    if (status) status.status = { ...status.status, state: 'deleting', reason: 'deletion requested' };
    await finishPending(em, now, id, ['CreateNode', 'ResumeNode', 'SuspendNode'], {
      kind: 'error',
      code: 'CANCELLED',
      message: `node ${id} is being deleted`,
    });
    if ((await em.count(InstanceEntity, { nodeId: id })) === 0) {
      em.remove(e);
      if (status) em.remove(status);
      finishOperation(op, now, { kind: 'response', resource: 'empty', resourceId: id });
    }
    await translateWrite('node', { id }, () => em.flush());
    this.onChange(id);
    return toOperation(op);
  }

  /** Suspend and resume flip desired state; the supervisor finishes the operation. */
  async setSuspended(id: string, suspended: boolean): Promise<Operation> {
    const em = fork(this.ctx);
    const e = await em.findOne(NodeEntity, { id });
    if (!e) throw new NotFoundError('node', id, 'node_id');
    if (e.deleting) throw new FailedPreconditionError(`node ${id} is being deleted`, `nodes/${id}`);
    const now = this.ctx.now();
    const kind = suspended ? 'SuspendNode' : 'ResumeNode';
    const op = startOperation(em, now, e.folderId, kind, id);
    await finishPending(em, now, id, [suspended ? 'ResumeNode' : 'SuspendNode'], {
      kind: 'error',
      code: 'CANCELLED',
      message: `superseded by ${kind}`,
    });
    if (e.suspended === suspended) {
      finishOperation(op, now, { kind: 'response', resource: 'node', resourceId: id });
    } else {
      e.suspended = suspended;
      e.updateTime = now;
      if (suspended && (await em.count(InstanceEntity, { nodeId: id })) === 0) {
        const status = await em.findOne(NodeStatusEntity, { nodeId: id });
        if (status) status.status = { ...status.status, state: 'suspended', reason: 'suspended by request' };
        finishOperation(op, now, { kind: 'response', resource: 'node', resourceId: id });
      }
    }
    await translateWrite('node', { id }, () => em.flush());
    this.onChange(id);
    return toOperation(op);
  }

  /** Every checkpoint node that is not being deleted, in all folders: their generated APIs are served. */
  async checkpointNodes(): Promise<Node[]> {
    const rows = await fork(this.ctx).find(NodeEntity, { kind: 'checkpoint', deleting: false });
    return rows.map(toNode);
  }

  async listInstances(nodeId: string, page: PageRequest): Promise<Page<InstanceEntity>> {
    const em = fork(this.ctx);
    if (!(await em.findOne(NodeEntity, { id: nodeId }, { fields: ['id'] }))) throw new NotFoundError('node', nodeId, 'node_id');
    return listPage(em, InstanceEntity, { nodeId }, page, `instances|${nodeId}`);
  }
}
