import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { Instance } from '../domain/instance';
import { initialNodeStatus, type InstanceState, type Node, type NodeStatus } from '../domain/node';
import type { OperationKind, OperationResult } from '../domain/operation';
import { InstanceEntity } from './entities/instance.entity';
import { NodeEntity, NodeStatusEntity } from './entities/node.entity';
import { OperationEntity } from './entities/operation.entity';
import { toInstance, toNode } from './node-mapping';
import { finishOperation, OperationRepository } from './operation.repository';

/** The fields of an instance row the supervisor changes after creating it. */
export type InstanceUpdate = Partial<Pick<Instance, 'state' | 'reason' | 'runtimeId' | 'address' | 'startTime' | 'restartCount' | 'lastHealthCheck' | 'updateTime'>>;

/** An operation of a node that is not done yet. */
export interface PendingOperation {
  id: string;
  kind: OperationKind;
  createTime: Date;
}

/** Everything the full resync reads, in three queries whatever the number of nodes. */
export interface ResyncSnapshot {
  /** Node id → version (bumped by every API write of the node). */
  nodes: Map<string, number>;
  /** Instance rows by node id (only what a fingerprint needs). */
  instances: Map<string, Array<Pick<Instance, 'id' | 'state' | 'runtimeId' | 'generation'>>>;
  /** Pending operation ids by node id. */
  pending: Map<string, string[]>;
}

/** What one reconcile pass reads about a node: desired state and the status it last wrote. */
export interface SupervisedNode {
  node: Node;
  status: NodeStatus;
}

/**
 * The supervisor's queries: instance rows, node status rows and the
 * operations a pass finishes. Instance and status rows are written with
 * native (guarded) updates only, never through a unit of work, so that a
 * probe's write, a pass's write and an API write never overwrite each other
 * through stale entities. Status rows are only ever updated here, never
 * created: the API creates a node's status row with the node, so a pass that
 * races a DeleteNode changes nothing instead of resurrecting the row.
 */
export class InstanceRepository {
  constructor(private readonly orm: MikroORM) {}

  private em(): EntityManager {
    return this.orm.em.fork({ clear: true });
  }

  /** Nodes, instance rows and pending operations of all nodes, for the resync to tell which nodes changed. */
  async resyncSnapshot(): Promise<ResyncSnapshot> {
    const em = this.em();
    const nodes = await em.find(NodeEntity, {}, { fields: ['id', 'version'] });
    const instances = await em.find(InstanceEntity, {}, { fields: ['id', 'nodeId', 'state', 'runtimeId', 'generation'], orderBy: { id: 'asc' } });
    const ops = await em.find(OperationEntity, { done: false }, { fields: ['id', 'resourceId'] });
    const snapshot: ResyncSnapshot = { nodes: new Map(nodes.map((n) => [n.id, n.version])), instances: new Map(), pending: new Map() };
    for (const i of instances) {
      const list = snapshot.instances.get(i.nodeId) ?? [];
      list.push({ id: i.id, state: i.state, runtimeId: i.runtimeId, generation: i.generation });
      snapshot.instances.set(i.nodeId, list);
    }
    for (const op of ops) snapshot.pending.set(op.resourceId, [...(snapshot.pending.get(op.resourceId) ?? []), op.id]);
    return snapshot;
  }

  /** The node and its last status; undefined once the node is gone. */
  async supervisedNode(nodeId: string): Promise<SupervisedNode | undefined> {
    const em = this.em();
    const row = await em.findOne(NodeEntity, { id: nodeId });
    if (!row) return undefined;
    const status = await em.findOne(NodeStatusEntity, { nodeId });
    return { node: toNode(row), status: { ...initialNodeStatus(), ...(status?.status ?? {}) } };
  }

  async instances(nodeId: string): Promise<Instance[]> {
    const rows = await this.em().find(InstanceEntity, { nodeId }, { orderBy: { id: 'asc' }, disableIdentityMap: true });
    return rows.map(toInstance);
  }

  /** The intent: an instance row, written before the runtime is asked to create anything for it. */
  async insert(instance: Instance): Promise<void> {
    await this.em().insert(InstanceEntity, { ...instance, version: 1 });
  }

  /**
   * Updates an instance row; with `runtimeId` given, only while the row still
   * names that container or process, so a late write about a replaced one changes nothing.
   */
  async update(instanceId: string, fields: InstanceUpdate, guard: { runtimeId?: string; notDeleting?: boolean } = {}): Promise<void> {
    const where: Record<string, unknown> = { id: instanceId };
    if (guard.runtimeId !== undefined) where.runtimeId = guard.runtimeId;
    if (guard.notDeleting) where.state = { $ne: 'deleting' satisfies InstanceState };
    await this.em().nativeUpdate(InstanceEntity, where, fields);
  }

  async delete(instanceId: string): Promise<void> {
    await this.em().nativeDelete(InstanceEntity, { id: instanceId });
  }

  async deleteAllOf(nodeId: string): Promise<void> {
    await this.em().nativeDelete(InstanceEntity, { nodeId });
  }

  /** Writes the status of a node that still exists; a deleted node's status stays deleted. */
  async writeStatus(nodeId: string, status: NodeStatus): Promise<void> {
    await this.em().nativeUpdate(NodeStatusEntity, { nodeId }, { status });
  }

  /** The node's pending operations (one query per pass tells both what to finish and when a resume was asked). */
  async pendingOperations(nodeId: string): Promise<PendingOperation[]> {
    const ops = await this.em().find(OperationEntity, { resourceId: nodeId, done: false }, { fields: ['id', 'description', 'createTime'] });
    return ops.map((op) => ({ id: op.id, kind: op.description, createTime: new Date(op.createTime) }));
  }

  /** Sets the progress line of these operations while they are pending (see OperationRepository.writeProgress). */
  async writeProgress(ids: string[], progress: string): Promise<void> {
    await new OperationRepository(this.em()).writeProgress(ids, progress);
  }

  /** Finishes these pending operations (a done operation never changes). */
  async finishOperations(ids: string[], now: Date, result: Exclude<OperationResult, { kind: 'pending' }>): Promise<void> {
    if (ids.length === 0) return;
    const em = this.em();
    const ops = await em.find(OperationEntity, { id: { $in: ids }, done: false });
    for (const op of ops) finishOperation(op, now, result);
    await em.flush();
  }

  /** The last step of a DeleteNode: the operation finishes as the node and its status go, in one transaction. */
  async removeNode(nodeId: string, now: Date): Promise<void> {
    await this.em().transactional(async (em) => {
      const ops = await em.find(OperationEntity, { resourceId: nodeId, done: false, description: 'DeleteNode' });
      for (const op of ops) finishOperation(op, now, { kind: 'response', resource: 'empty', resourceId: nodeId });
      await em.flush();
      await em.nativeDelete(InstanceEntity, { nodeId });
      await em.nativeDelete(NodeStatusEntity, { nodeId });
      await em.nativeDelete(NodeEntity, { id: nodeId });
    });
  }
}
