import { pickTarget, type Alias } from '../domain/alias';
import type { Aliases } from '../control/aliases';
import type { Nodes } from '../control/nodes';
import { StatusError, statusJson, toStatusError } from '../api/status';
import { NotFoundError } from '../domain/errors';
import { GrpcCode, NodeApiError, type NodeApiResolver, type NodeApiRoute, type ResolvedTarget, type ResolvingCall } from './node-api';
import type { RoutingTable } from './routing-table';
import { TimedCache } from '../control/timed-cache';
import type { NodeWaker } from './node-waker';

/** What a refusal of a call to a node depends on. */
interface NodeFacts {
  folderId: string;
  kind: 'docker' | 'checkpoint';
  suspended: boolean;
  deleting: boolean;
  /** instance_range.min 0: a call that finds no healthy instance wakes the node and waits. */
  maySleep: boolean;
}

/**
 * A failure of a lookup as the node API answers it: a domain error (the
 * database unavailable, …) gets its code from the one status table; anything
 * unexpected is left for the proxy to log and answer as INTERNAL.
 */
function refusal(err: unknown): never {
  if (err instanceof NodeApiError) throw err;
  const status = toStatusError(err);
  if (status.code === GrpcCode.INTERNAL && !(err instanceof StatusError)) throw err;
  throw new NodeApiError(status.code, status.message, status.httpStatus, { cause: err, retryAfterSeconds: status.retryAfterSeconds, details: statusJson(status).details as unknown[] });
}

/**
 * Resolves node-API calls from the routing table (kept in memory by the
 * supervisor); the database is asked only about names it does not know, and
 * the answer is kept for a second.
 */
export class RoutingTableResolver implements NodeApiResolver {
  private readonly aliasCache: TimedCache<Alias>;
  private aliasRead: ((alias: Alias) => void) | undefined;
  private readonly nodeCache: TimedCache<NodeFacts | undefined>;

  constructor(
    private readonly routing: RoutingTable,
    private readonly nodes: Nodes,
    private readonly aliases: Aliases,
    private readonly onFailure: (nodeId: string, instanceId: string, error: Error) => void,
    /**
     * Throws unless the call's key may call the node (`x-folder-id`, when
     * sent, is the folder it calls as) or the alias (in `x-folder-id`).
     * Undefined: every caller may call every node (`--auth none`), and
     * `x-folder-id` must then be the node's own folder.
     */
    private readonly authorize?: (route: NodeApiRoute, target: { nodeId: string } | { folderId: string; aliasName: string }) => Promise<void>,
    cacheMs = 1000,
    /** Counts calls, and holds those to a sleeping node while it wakes; none: such calls get UNAVAILABLE. */
    private readonly waker?: NodeWaker,
  ) {
    this.aliasCache = new TimedCache(cacheMs);
    this.nodeCache = new TimedCache(cacheMs);
  }

  /** The routing table's entry itself: it has every field of a ResolvedTarget, so a call copies nothing. */
  private target(nodeId: string, folderId?: string): ResolvedTarget | undefined {
    const route = this.routing.get(nodeId);
    if (!route || route.kind !== 'docker' || (folderId && route.folderId !== folderId)) return undefined;
    return route;
  }

  /** A node's target when it has a healthy instance, the call counted (a node with min 0 sleeps only after a window without calls). */
  private serving(nodeId: string, folderId?: string): ResolvedTarget | undefined {
    const hit = this.target(nodeId, folderId);
    if (!hit || hit.backends.length === 0) return undefined;
    this.waker?.noteCall(nodeId);
    return hit;
  }

  resolve(route: NodeApiRoute, call?: ResolvingCall): ResolvedTarget | Promise<ResolvedTarget> {
    const authorize = this.authorize;
    if (route.nodeId) {
      const nodeId = route.nodeId;
      if (authorize)
        return authorize(route, { nodeId })
          .then(() => this.serving(nodeId) ?? this.resolveNode(nodeId, undefined, call))
          .catch(refusal);
      return this.serving(nodeId, route.folderId) ?? this.resolveNode(nodeId, route.folderId, call).catch(refusal);
    }
    if (route.aliasName) {
      const folderId = route.folderId;
      if (!folderId) throw new NodeApiError(GrpcCode.INVALID_ARGUMENT, 'x-node-alias needs x-folder-id: alias names are unique per folder');
      const aliasName = route.aliasName;
      if (authorize) return authorize(route, { folderId, aliasName }).then(() => this.resolveAlias(folderId, aliasName, call)).catch(refusal);
      return this.resolveAlias(folderId, aliasName, call).catch(refusal);
    }
    throw new NodeApiError(GrpcCode.INVALID_ARGUMENT, 'name the node with the x-node-id header (or x-node-alias with x-folder-id)');
  }

  /**
   * A node the routing table cannot send the call to: why, as the caller
   * should hear it. A checkpoint node is the wrong door: INVALID_ARGUMENT
   * (HTTP 400) naming the right one, Execute. A node that will not serve
   * until someone acts (suspended, being deleted) is FAILED_PRECONDITION
   * naming its state, so that clients do not retry; one that is starting or
   * has lost its instances is UNAVAILABLE, which they may retry.
   */
  private async resolveNode(nodeId: string, folderId: string | undefined, call?: ResolvingCall): Promise<ResolvedTarget> {
    const facts = await this.nodeCache.get(nodeId, async () => {
      try {
        const node = await this.nodes.get(nodeId);
        return { folderId: node.folderId, kind: node.spec.source.kind, suspended: node.suspended, deleting: node.deleting, maySleep: node.spec.instanceRange.min === 0 };
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    });
    if (!facts || (folderId && facts.folderId !== folderId))
      throw new NodeApiError(GrpcCode.NOT_FOUND, `node ${nodeId} not found${folderId ? ` in folder ${folderId}` : ''}`);
    if (facts.kind === 'checkpoint')
      throw new NodeApiError(
        GrpcCode.INVALID_ARGUMENT,
        `node ${nodeId} is a checkpoint node: the node API relays calls to Docker nodes only; ` +
          `call it with Execute (gRPC berth.v1.NodeService/Execute, REST POST /v1/nodes/${nodeId}:execute) or its typed API`,
      );
    if (facts.deleting) throw new NodeApiError(GrpcCode.FAILED_PRECONDITION, `node ${nodeId} is being deleted`);
    if (facts.suspended) throw new NodeApiError(GrpcCode.FAILED_PRECONDITION, `node ${nodeId} is suspended; resume it (ResumeNode) before calling it`);
    const hit = this.serving(nodeId);
    if (hit) return hit;
    // The route knows best (a node whose start failed does not sleep); a node the supervisor has not seen yet goes by its spec.
    const route = this.routing.get(nodeId);
    if (!(route ? route.maySleep : facts.maySleep) || !this.waker) throw new NodeApiError(GrpcCode.UNAVAILABLE, `node ${nodeId} has no healthy instance yet`);
    // Asleep (or waking): the call waits for the node's first instance, within the bound and the node's own timeout.
    this.waker.noteCall(nodeId);
    // A caller that leaves lets go of its place among the held calls.
    const left = new AbortController();
    call?.onGone(() => left.abort());
    await this.waker.hold(nodeId, left.signal, this.routing.get(nodeId)?.timeoutMs);
    const woken = this.target(nodeId);
    if (woken && woken.backends.length > 0) return woken;
    throw new NodeApiError(GrpcCode.UNAVAILABLE, `node ${nodeId} has no healthy instance yet`);
  }

  private async resolveAlias(folderId: string, name: string, call?: ResolvingCall): Promise<ResolvedTarget> {
    const alias = await this.readAlias(folderId, name);
    if (alias === undefined) throw new NodeApiError(GrpcCode.NOT_FOUND, `alias ${JSON.stringify(name)} not found in folder ${folderId}`);
    this.aliasRead?.(alias);
    const chosen = pickTarget(alias.targets, Math.random());
    if (!chosen) throw new NodeApiError(GrpcCode.UNAVAILABLE, `alias ${JSON.stringify(name)} has no target with weight`);
    return this.resolveNode(chosen.nodeId, folderId, call);
  }

  /** The alias as Berth's cache has it (read from the database at most once per cache time); undefined when it does not exist. */
  async readAlias(folderId: string, name: string): Promise<Alias | undefined> {
    try {
      return await this.aliasCache.get(`${folderId}/${name}`, () => this.aliases.getByName(folderId, name));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Tells `listener` of each alias a call is routed through, as read (HAProxy's data plane serves it from then on). */
  onAliasRead(listener: (alias: Alias) => void): void {
    this.aliasRead = listener;
  }

  /** An alias changed here: later calls read it again (other processes see it within the cache time). */
  forgetAlias(folderId: string, name: string): void {
    this.aliasCache.delete(`${folderId}/${name}`);
  }

  reportFailure(nodeId: string, instanceId: string, error: Error): void {
    this.onFailure(nodeId, instanceId, error);
  }
}
