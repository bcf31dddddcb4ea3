import { authorizeAliasCall, authorizeNodeCall, type Caller } from '../domain/access';
import type { Alias } from '../domain/alias';
import { NotFoundError, QuotaExceededError } from '../domain/errors';
import { TokenBucket, burstOf } from '../domain/token-bucket';
import { store, type ControlContext } from './context';
import { TimedCache } from './timed-cache';

interface NodeFacts {
  folderId: string;
  aclFolderIds: string[];
}

/**
 * The data plane's access decisions: may this caller call this node or this
 * alias, and is its key within its rate limit. Every data-plane entry
 * (Execute, ExecuteAlias, typed gRPC, typed REST, the node API) asks here.
 * What a node's folder and ACL are is kept for `cacheMs`, like the routing
 * table's view of instances.
 */
export class CallAccess {
  private readonly nodes: TimedCache<NodeFacts | undefined>;
  private readonly aliases: TimedCache<Alias | undefined>;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ctx: ControlContext,
    cacheMs = 1000,
  ) {
    this.nodes = new TimedCache(cacheMs);
    this.aliases = new TimedCache(cacheMs);
  }

  /** A node or alias changed here: decide again from the database. */
  forget(): void {
    this.nodes.clear();
    this.aliases.clear();
  }

  /** Throws unless the caller may call the node (as `viaFolderId` when given) and its key has a token left. */
  async node(caller: Caller, nodeId: string, viaFolderId: string | undefined, field = 'node_id'): Promise<void> {
    this.rateLimit(caller);
    await this.mayCall(caller, nodeId, viaFolderId, field);
  }

  /** Throws unless the caller may call the node; takes nothing from its rate (for listings such as reflection). */
  async mayCall(caller: Caller, nodeId: string, viaFolderId: string | undefined, field = 'node_id'): Promise<void> {
    const facts = await this.nodes.get(nodeId, async () => {
      const node = await store(this.ctx).nodes.get(nodeId);
      return node ? { folderId: node.folderId, aclFolderIds: node.spec.acl.folderIds } : undefined;
    });
    if (!facts) throw new NotFoundError('node', nodeId, field);
    authorizeNodeCall(caller, { nodeId, ...facts }, viaFolderId || undefined, { kind: 'node', id: nodeId, field });
  }

  /** Throws unless the caller may call through the alias (NOT_FOUND when it does not exist) and its key has a token left. */
  async alias(caller: Caller, folderId: string, name: string): Promise<void> {
    this.rateLimit(caller);
    await this.mayCallAlias(caller, folderId, name);
  }

  /** Throws unless the caller may call through the alias; takes nothing from its rate (for listings such as reflection). */
  async mayCallAlias(caller: Caller, folderId: string, name: string): Promise<void> {
    if (caller.anonymous) return;
    const alias = await this.aliases.get(`${folderId}/${name}`, () => store(this.ctx).aliases.getByName(folderId, name));
    if (!alias) throw new NotFoundError('alias', name, 'alias_name');
    authorizeAliasCall(caller, alias, { kind: 'alias', id: name, field: 'alias_name' });
  }

  /** RESOURCE_EXHAUSTED (HTTP 429 with retry-after) when the caller's key has used its rate. */
  rateLimit(caller: Caller): void {
    const key = caller.key;
    if (!key || key.rateLimitPerSecond <= 0) return;
    const now = Date.now();
    let bucket = this.buckets.get(key.id);
    if (!bucket || bucket.ratePerSecond !== key.rateLimitPerSecond || bucket.burst !== burstOf(key.rateLimitPerSecond, key.rateLimitBurst)) {
      bucket = new TokenBucket(key.rateLimitPerSecond, burstOf(key.rateLimitPerSecond, key.rateLimitBurst), now);
      this.buckets.set(key.id, bucket);
    }
    const taken = bucket.take(now);
    if (!taken.ok)
      throw new QuotaExceededError(
        `API key ${key.id} is limited to ${key.rateLimitPerSecond} calls per second on the data plane; retry in ${taken.retryAfterSeconds} s`,
        `keys/${key.id}/rate`,
        taken.retryAfterSeconds,
      );
  }
}
