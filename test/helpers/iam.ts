import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import type { TestBerth } from './berth';
import { rest } from './rest';

/** Someone holding an API key: its principal, the key, and the headers that carry it. */
export interface KeyHolder {
  name: string;
  principalId: string;
  keyId: string;
  secret: string;
  /** `authorization: Bearer <secret>` for REST and the node API. */
  headers: Record<string, string>;
}

export type RoleName = 'viewer' | 'user' | 'developer' | 'admin';

/** `authorization` headers of any value, for callers with no key or a broken one. */
export function authHeaders(authorization: string | undefined): Record<string, string> {
  return authorization === undefined ? {} : { authorization };
}

/** The same headers as gRPC metadata. */
export function metadataOf(headers: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/**
 * Sets up principals, keys, folders and roles through the REST API as the
 * server admin (whose key the first start wrote to `<data dir>/admin.key`).
 */
export class IamSetup {
  readonly admin: KeyHolder;
  private readonly base: string;

  constructor(t: TestBerth) {
    this.base = t.http;
    const secret = readFileSync(path.join(t.config.dataDir, 'admin.key'), 'utf8').trim();
    const keyId = /^berth_(ak[0-9a-z]+)_/.exec(secret)?.[1];
    assert.ok(keyId, 'admin.key holds a Berth API key');
    this.admin = { name: 'admin', principalId: '', keyId, secret, headers: { authorization: `Bearer ${secret}` } };
  }

  /** Reads the admin's principal id (GetCaller). */
  async init(): Promise<this> {
    const me = await this.call('GET', '/v1/caller');
    this.admin.principalId = me.principal.id;
    return this;
  }

  /** A REST call as the server admin that must succeed; returns the body. */
  async call(method: string, path: string, body?: unknown): Promise<any> {
    const res = await rest(this.base, method, path, body, this.admin.headers);
    assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async folder(name: string): Promise<string> {
    return (await this.call('POST', '/v1/folders', { name })).id;
  }

  async principal(name: string, kind: 'user' | 'service_account' = 'user'): Promise<string> {
    const created = await this.call('POST', '/v1/principals', { name, kind: kind === 'user' ? 'PRINCIPAL_KIND_USER' : 'PRINCIPAL_KIND_SERVICE_ACCOUNT' });
    return created.id;
  }

  /** A new key of the principal; `key` takes the ApiKey fields in proto3 JSON (expireTime, rateLimitPerSecond, …). */
  async key(principalId: string, name: string, key: Record<string, unknown> = {}): Promise<KeyHolder> {
    const created = await this.call('POST', `/v1/principals/${principalId}/keys`, { key: { description: name, ...key } });
    assert.match(created.secret, /^berth_ak[0-9a-z]+_[A-Za-z0-9_-]{43}$/);
    return { name, principalId, keyId: created.key.id, secret: created.secret, headers: { authorization: `Bearer ${created.secret}` } };
  }

  async grant(folderId: string, principalId: string, role: RoleName): Promise<void> {
    await this.call('POST', `/v1/folders/${folderId}:updateAccessBindings`, {
      deltas: [{ action: 'ACCESS_BINDING_ACTION_ADD', binding: { principalId, role: `ROLE_${role.toUpperCase()}` } }],
    });
  }

  /** A principal with one key and the given roles. */
  async member(name: string, roles: Array<[folderId: string, role: RoleName]>): Promise<KeyHolder> {
    const principalId = await this.principal(name);
    for (const [folderId, role] of roles) await this.grant(folderId, principalId, role);
    return this.key(principalId, name);
  }

  async revoke(keyId: string): Promise<void> {
    const revoked = await this.call('POST', `/v1/keys/${keyId}:revoke`, {});
    assert.ok(revoked.revokeTime, JSON.stringify(revoked));
  }
}
