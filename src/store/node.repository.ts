import type { EntityManager } from '@mikro-orm/core';
import type { Instance } from '../domain/instance';
import type { FilterClause, Page, PageRequest } from '../domain/listing';
import { initialNodeStatus, secretUsesOf, type Node, type NodeInput, type NodeStatus } from '../domain/node';
import { InstanceEntity } from './entities/instance.entity';
import { NodeEntity, NodeStatusEntity } from './entities/node.entity';
import { toInstance, toNode } from './node-mapping';
import { listPage, whereOf } from './paging';
import { lockModeOf, type RowLock } from './row-lock';
import { existingIds } from './existing-ids';

/** A node as the API shows it: desired state and observed status together. */
export interface NodeView extends Node {
  status: NodeStatus;
}

const FILTER_COLUMNS = { name: 'name', kind: 'kind' };

/** The changes of desired state the API makes to a node row. */
export type NodeChange = Partial<Pick<Node, 'name' | 'description' | 'labels' | 'spec' | 'generation' | 'suspended' | 'deleting' | 'updateTime'>>;

/**
 * Node rows and their status rows: the queries and the mapping to the
 * domain's Node. Writes join the unit of work of the EntityManager the
 * repository was made with.
 */
export class NodeRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<Node | undefined> {
    const e = await this.em.findOne(NodeEntity, { id });
    return e ? toNode(e) : undefined;
  }

  async exists(id: string): Promise<boolean> {
    return (await this.em.findOne(NodeEntity, { id }, { fields: ['id'] })) !== null;
  }

  /**
   * Which of these node ids have a node row, nodes being deleted included: the
   * garbage collector removes what a runtime holds only for nodes that are not
   * in the database at all. Asked in chunks, well under every database's limit
   * on bound parameters.
   */
  async existingIds(nodeIds: readonly string[]): Promise<Set<string>> {
    return existingIds(this.em, NodeEntity, nodeIds);
  }

  async getView(id: string): Promise<NodeView | undefined> {
    const e = await this.em.findOne(NodeEntity, { id });
    return e ? (await this.withStatus([e]))[0] : undefined;
  }

  /** Reads the node and holds it until the transaction ends (see RowLock). */
  async lock(id: string, lock: RowLock): Promise<Node | undefined> {
    const e = await this.em.findOne(NodeEntity, { id }, { lockMode: lockModeOf(lock), refresh: true });
    return e ? toNode(e) : undefined;
  }

  /**
   * Reads and holds several nodes, in id order: every transaction that locks
   * more than one node takes them in the same order, so none waits on another
   * in a cycle.
   */
  async lockMany(ids: string[], lock: RowLock): Promise<Node[]> {
    if (ids.length === 0) return [];
    const rows = await this.em.find(NodeEntity, { id: { $in: [...new Set(ids)] } }, { lockMode: lockModeOf(lock), orderBy: { id: 'asc' }, refresh: true });
    return rows.map(toNode);
  }

  async list(folderId: string, clauses: FilterClause[], page: PageRequest, query: string): Promise<Page<NodeView>> {
    const stateClause = clauses.find((c) => c.field === 'state');
    const where: Record<string, unknown> = { ...whereOf(clauses.filter((c) => c !== stateClause), FILTER_COLUMNS), folderId };
    if (stateClause) {
      const wanted = stateClause.value.toLowerCase();
      // Only this folder's statuses: the state lives in the status row, not in the node row.
      const ids = (await this.em.find(NodeEntity, { folderId }, { fields: ['id'] })).map((n) => n.id);
      const statuses = await this.em.find(NodeStatusEntity, { nodeId: { $in: ids } }, { fields: ['nodeId', 'status'] });
      where.id = { $in: statuses.filter((s) => s.status.state === wanted).map((s) => s.nodeId) };
    }
    const result = await listPage(this.em, NodeEntity, where, page, query);
    return { items: await this.withStatus(result.items), nextPageToken: result.nextPageToken };
  }

  /** Every checkpoint node that is not being deleted, in all folders. */
  async checkpointNodes(): Promise<Node[]> {
    return (await this.em.find(NodeEntity, { kind: 'checkpoint', deleting: false })).map(toNode);
  }

  /** The nodes of a folder made from a checkpoint. */
  async usingCheckpoint(folderId: string, checkpointId: string): Promise<Node[]> {
    const rows = await this.em.find(NodeEntity, { folderId, kind: 'checkpoint' });
    return rows.filter((n) => n.spec.source.kind === 'checkpoint' && n.spec.source.checkpointId === checkpointId).map(toNode);
  }

  /** The nodes of a folder, not being deleted, that use a secret (a secret is used only in its own folder). */
  async usingSecret(folderId: string, secretId: string): Promise<Node[]> {
    const rows = await this.em.find(NodeEntity, { folderId, kind: 'docker', deleting: false });
    return rows.map(toNode).filter((n) => secretUsesOf(n.spec).some((use) => use.secretId === secretId));
  }

  async countInFolder(folderId: string): Promise<number> {
    return this.em.count(NodeEntity, { folderId });
  }

  /**
   * The instances a folder's nodes may run at most: the sum of their
   * instance_range.max, suspended nodes and `except` left out.
   */
  async instancesReserved(folderId: string, except?: string): Promise<number> {
    const rows = await this.em.find(NodeEntity, { folderId, suspended: false }, { fields: ['id', 'spec'] });
    return rows.filter((n) => n.id !== except).reduce((sum, n) => sum + n.spec.instanceRange.max, 0);
  }

  /** Adds a node with its initial status to the unit of work. */
  insert(id: string, input: NodeInput, now: Date): void {
    this.em.create(NodeEntity, {
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
    this.em.create(NodeStatusEntity, { nodeId: id, status: initialNodeStatus(), version: 1 });
  }

  /**
   * Changes the node in the unit of work; the flush writes it only if the row
   * still has the version this unit of work read (else ConflictError, ABORTED).
   */
  async change(id: string, change: NodeChange): Promise<void> {
    const e = await this.em.findOneOrFail(NodeEntity, { id });
    this.em.assign(e, change);
  }

  /**
   * Rewrites the node's observed state and reason in the unit of work. The
   * status row is locked as it is read (inside a transaction): a status the
   * supervisor writes meanwhile waits, instead of failing this request's version check.
   */
  async setStatusState(id: string, state: NodeStatus['state'], reason: string): Promise<void> {
    const status = await this.em.findOne(NodeStatusEntity, { nodeId: id }, { lockMode: lockModeOf('update'), refresh: true });
    if (status) status.status = { ...status.status, state, reason };
  }

  /** Removes the node and its status in the unit of work. */
  async remove(id: string): Promise<void> {
    const e = await this.em.findOne(NodeEntity, { id });
    if (e) this.em.remove(e);
    const status = await this.em.findOne(NodeStatusEntity, { nodeId: id });
    if (status) this.em.remove(status);
  }

  async hasInstances(nodeId: string): Promise<boolean> {
    return (await this.em.count(InstanceEntity, { nodeId })) > 0;
  }

  async listInstances(nodeId: string, page: PageRequest, query: string): Promise<Page<Instance>> {
    const result = await listPage(this.em, InstanceEntity, { nodeId }, page, query);
    return { items: result.items.map(toInstance), nextPageToken: result.nextPageToken };
  }

  private async withStatus(nodes: NodeEntity[]): Promise<NodeView[]> {
    if (nodes.length === 0) return [];
    const statuses = await this.em.find(NodeStatusEntity, { nodeId: { $in: nodes.map((n) => n.id) } });
    const byId = new Map(statuses.map((s) => [s.nodeId, s.status]));
    return nodes.map((n) => ({ ...toNode(n), status: byId.get(n.id) ?? initialNodeStatus() }));
  }
}
