import { raw, type EntityManager } from '@mikro-orm/core';
import type { ApiKey, ApiKeyInput } from '../domain/access';
import type { Page, PageRequest } from '../domain/listing';
import { ApiKeyEntity } from './entities/principal.entity';
import { listPage } from './paging';
import { translateWrite } from './translate';

function toApiKey(e: ApiKeyEntity): ApiKey {
  return {
    id: e.id,
    principalId: e.principalId,
    description: e.description,
    createTime: e.createTime,
    expireTime: e.expireTime ?? undefined,
    revokeTime: e.revokeTime ?? undefined,
    rateLimitPerSecond: e.rateLimitPerSecond,
    rateLimitBurst: e.rateLimitBurst,
    callCount: e.callCount,
    lastUsedTime: e.lastUsedTime ?? undefined,
  };
}

/** API key rows. The secret itself is never stored: only its SHA-256, as hex. */
export class ApiKeyRepository {
  constructor(private readonly em: EntityManager) {}

  async get(id: string): Promise<ApiKey | undefined> {
    const e = await this.em.findOne(ApiKeyEntity, { id });
    return e ? toApiKey(e) : undefined;
  }

  /** The key and the hash of its secret, for authentication. */
  async getWithHash(id: string): Promise<{ key: ApiKey; secretHash: string } | undefined> {
    const e = await this.em.findOne(ApiKeyEntity, { id });
    return e ? { key: toApiKey(e), secretHash: e.secretHash } : undefined;
  }

  async list(principalId: string, page: PageRequest): Promise<Page<ApiKey>> {
    const result = await listPage(this.em, ApiKeyEntity, { principalId }, page, `keys|${principalId}`);
    return { items: result.items.map(toApiKey), nextPageToken: result.nextPageToken };
  }

  async insert(id: string, principalId: string, input: ApiKeyInput, secretHash: string, now: Date): Promise<ApiKey> {
    const entity = this.em.create(ApiKeyEntity, {
      id,
      principalId,
      description: input.description,
      secretHash,
      createTime: now,
      expireTime: input.expireTime ?? null,
      revokeTime: null,
      rateLimitPerSecond: input.rateLimitPerSecond,
      rateLimitBurst: input.rateLimitBurst,
      callCount: 0,
      lastUsedTime: null,
    });
    await translateWrite('key', { id }, () => this.em.persistAndFlush(entity));
    return toApiKey(entity);
  }

  /** Marks the key revoked (once: a revoked key keeps its first revoke time). */
  async revoke(id: string, now: Date): Promise<ApiKey | undefined> {
    await translateWrite('key', { id }, () => this.em.nativeUpdate(ApiKeyEntity, { id, revokeTime: null }, { revokeTime: now }));
    return this.em.fork({ clear: true }).findOne(ApiKeyEntity, { id }).then((e) => (e ? toApiKey(e) : undefined));
  }

  /** Adds calls counted since the last write; one statement per key, no read. */
  async addUsage(id: string, calls: number, lastUsed: Date): Promise<void> {
    await this.em.nativeUpdate(ApiKeyEntity, { id }, { callCount: raw('call_count + ?', [calls]) as never, lastUsedTime: lastUsed });
  }
}
