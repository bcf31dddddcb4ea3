import type { MikroORM } from '@mikro-orm/core';
import type { InstanceState, Telemetry } from '../domain/node';
import { AliasEntity } from './entities/alias.entity';
import { InstanceEntity } from './entities/instance.entity';
import { NodeEntity } from './entities/node.entity';
import { existingIds } from './existing-ids';
import { toNode } from './node-mapping';

/** How many instances of a node are in one state. */
export interface InstanceCount {
  folderId: string;
  nodeId: string;
  state: InstanceState;
  count: number;
}

/** A Docker node that publishes Prometheus text on a port of its instances. */
export interface TelemetryNode {
  nodeId: string;
  telemetry: Telemetry;
}

/**
 * What a scrape of `/metrics` reads: instance counts by state, which nodes
 * and aliases still exist (their series go when they do), and the nodes of a
 * folder whose instances publish telemetry. Each read is one query, whatever
 * the number of nodes, on a fresh EntityManager.
 */
export class MetricsRepository {
  constructor(private readonly orm: MikroORM) {}

  private em() {
    return this.orm.em.fork({ clear: true });
  }

  async instanceCounts(): Promise<InstanceCount[]> {
    const rows = await this.em().find(InstanceEntity, {}, { fields: ['nodeId', 'folderId', 'state'], disableIdentityMap: true });
    const counts = new Map<string, InstanceCount>();
    for (const r of rows) {
      const key = `${r.nodeId}\u0000${r.state}`;
      const c = counts.get(key);
      if (c) c.count++;
      else counts.set(key, { folderId: r.folderId, nodeId: r.nodeId, state: r.state, count: 1 });
    }
    return [...counts.values()];
  }

  /** Which of these node ids still have a node row. */
  async existingNodes(nodeIds: readonly string[]): Promise<Set<string>> {
    return existingIds(this.em(), NodeEntity, nodeIds);
  }

  /** Which of these aliases (`folderId/name`) still exist. */
  async existingAliases(keys: readonly string[]): Promise<Set<string>> {
    const folderIds = [...new Set(keys.map((k) => k.slice(0, k.indexOf('/'))))];
    const found = new Set<string>();
    const em = this.em();
    for (let i = 0; i < folderIds.length; i += 500) {
      const rows = await em.find(AliasEntity, { folderId: { $in: folderIds.slice(i, i + 500) } }, { fields: ['folderId', 'name'], disableIdentityMap: true });
      for (const row of rows) found.add(`${row.folderId}/${row.name}`);
    }
    return new Set(keys.filter((k) => found.has(k)));
  }

  /** Which of these instance ids still have an instance row. */
  async existingInstances(instanceIds: readonly string[]): Promise<Set<string>> {
    return existingIds(this.em(), InstanceEntity, instanceIds);
  }


  /** When an instance was created and how often it was started again. */
  async instanceStart(instanceId: string): Promise<{ folderId: string; createTime: Date; restartCount: number } | undefined> {
    const row = await this.em().findOne(InstanceEntity, { id: instanceId }, { fields: ['folderId', 'createTime', 'restartCount'], disableIdentityMap: true });
    return row ? { folderId: row.folderId, createTime: new Date(row.createTime), restartCount: row.restartCount } : undefined;
  }

  /** The Docker nodes of a folder that declare a telemetry endpoint. */
  async telemetryNodes(folderId: string): Promise<TelemetryNode[]> {
    const rows = await this.em().find(NodeEntity, { folderId }, { orderBy: { id: 'asc' }, disableIdentityMap: true });
    return rows.flatMap((row) => {
      const node = toNode(row);
      const src = node.spec.source;
      return src.kind === 'docker' && src.telemetry && !node.suspended && !node.deleting ? [{ nodeId: node.id, telemetry: src.telemetry }] : [];
    });
  }
}
