import { pickTarget } from '../domain/alias';
import type { Aliases } from '../control/aliases';
import type { Nodes } from '../control/nodes';
import { NotFoundError } from '../domain/errors';
import { GrpcCode, NodeApiError, type NodeApiResolver, type NodeApiRoute, type ResolvedTarget } from './node-api';
import type { RoutingTable } from './routing-table';

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

/**
 * Resolves node-API calls from the routing table (kept in memory by the
 * supervisor); the database is asked only about names it does not know, and
 * the answer is kept for a second.
 */
export class RoutingTableResolver implements NodeApiResolver {
  private readonly aliasCache = new Map<string, Cached<{ targets: { nodeId: string; weight: number }[] }>>();
  private readonly nodeCache = new Map<string, Cached<boolean>>();

  constructor(
    private readonly routing: RoutingTable,
    private readonly nodes: Nodes,
    private readonly aliases: Aliases,
    private readonly onFailure: (nodeId: string, instanceId: string, error: Error) => void,
    private readonly cacheMs = 1000,
  ) {}

  private cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < this.cacheMs) return hit.value;
    const value = load();
    cache.set(key, { at: Date.now(), value });
    value.catch(() => cache.delete(key));
    return value;
  }

  /** The routing table's entry itself: it has every field of a ResolvedTarget, so a call copies nothing. */
  private target(nodeId: string, folderId?: string): ResolvedTarget | undefined {
    const route = this.routing.get(nodeId);
    if (!route || route.kind !== 'docker' || (folderId && route.folderId !== folderId)) return undefined;
    return route;
  }

  resolve(route: NodeApiRoute): ResolvedTarget | Promise<ResolvedTarget> {
    if (route.nodeId) {
      const hit = this.target(route.nodeId, route.folderId);
      if (hit) return hit;
      return this.resolveNode(route.nodeId, route.folderId);
    }
    if (route.aliasName) {
      if (!route.folderId) throw new NodeApiError(GrpcCode.INVALID_ARGUMENT, 'x-node-alias needs x-folder-id: alias names are unique per folder');
      return this.resolveAlias(route.folderId, route.aliasName);
    }
    throw new NodeApiError(GrpcCode.INVALID_ARGUMENT, 'name the node with the x-node-id header (or x-node-alias with x-folder-id)');
  }

  private async resolveNode(nodeId: string, folderId: string | undefined): Promise<ResolvedTarget> {
    const exists = await this.cached(this.nodeCache, `${folderId ?? ''}/${nodeId}`, async () => {
      try {
        const node = await this.nodes.get(nodeId);
        return !folderId || node.folderId === folderId;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    });
    if (!exists) throw new NodeApiError(GrpcCode.NOT_FOUND, `node ${nodeId} not found${folderId ? ` in folder ${folderId}` : ''}`);
    const hit = this.target(nodeId);
    if (hit) return hit;
    throw new NodeApiError(GrpcCode.UNAVAILABLE, `node ${nodeId} has no healthy instance`);
  }

  private async resolveAlias(folderId: string, name: string): Promise<ResolvedTarget> {
    const alias = await this.cached(this.aliasCache, `${folderId}/${name}`, () => this.aliases.getByName(folderId, name)).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NodeApiError(GrpcCode.NOT_FOUND, `alias ${JSON.stringify(name)} not found in folder ${folderId}`);
      throw err;
    });
    const chosen = pickTarget(alias.targets, Math.random());
    if (!chosen) throw new NodeApiError(GrpcCode.UNAVAILABLE, `alias ${JSON.stringify(name)} has no target with weight`);
    return this.resolveNode(chosen.nodeId, folderId);
  }

  /** An alias changed here: later calls read it again (other processes see it within the cache time). */
  forgetAlias(folderId: string, name: string): void {
    this.aliasCache.delete(`${folderId}/${name}`);
  }

  reportFailure(nodeId: string, instanceId: string, error: Error): void {
    this.onFailure(nodeId, instanceId, error);
  }
}
