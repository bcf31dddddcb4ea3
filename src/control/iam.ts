import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ROLES,
  validateApiKey,
  validatePrincipal,
  type AccessBinding,
  type ApiKey,
  type ApiKeyInput,
  type Caller,
  type Principal,
  type PrincipalInput,
  type Role,
} from '../domain/access';
import { FailedPreconditionError, NotFoundError, ValidationError } from '../domain/errors';
import type { Page, PageRequest } from '../domain/listing';
import { newId } from '../store/ids';
import type { Logger } from '../logger';
import { inTransaction, store, type ControlContext } from './context';

/** `berth_<key id>_<43 characters of base64url>`: the prefix lets secret scanners find leaked keys. */
const SECRET_FORMAT = /^berth_(ak[0-9a-z]{19})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The key id a secret names, or undefined when it is not a Berth key at all. */
export function keyIdOf(secret: string): string | undefined {
  return SECRET_FORMAT.exec(secret)?.[1];
}

function newSecret(keyId: string): string {
  return `berth_${keyId}_${randomBytes(32).toString('base64url')}`;
}

export interface AccessDelta {
  action: 'add' | 'remove';
  binding: { principalId: string; role: Role };
}

/** Principals, their keys and their roles: the use cases behind IamService. */
export class Iam {
  constructor(
    private readonly ctx: ControlContext,
    /** Called after any change that can alter what a cached caller may do. */
    private readonly changed: () => void,
  ) {}

  async getPrincipal(id: string, field = 'principal_id'): Promise<Principal> {
    const p = await store(this.ctx).principals.get(id);
    if (!p) throw new NotFoundError('principal', id, field);
    return p;
  }

  listPrincipals(page: PageRequest, onlyIds?: readonly string[]): Promise<Page<Principal>> {
    return store(this.ctx).principals.list(page, onlyIds);
  }

  async createPrincipal(input: PrincipalInput): Promise<Principal> {
    validatePrincipal(input);
    return store(this.ctx).principals.insert(newId('pr'), input, this.ctx.now());
  }

  /** Deletes the principal with its keys and bindings; the last server admin stays. */
  async deletePrincipal(id: string): Promise<void> {
    await inTransaction(this.ctx, { kind: 'principal', id }, async (s) => {
      const p = await s.principals.get(id);
      if (!p) throw new NotFoundError('principal', id, 'principal_id');
      if (p.serverAdmin && (await s.principals.countServerAdmins()) <= 1)
        throw new FailedPreconditionError(`principal ${id} is the last server admin; create another one first`, `principals/${id}`, 'LAST_SERVER_ADMIN');
      await s.principals.remove(id);
    });
    this.changed();
  }

  /** Creates a key and returns it with its secret, which is not kept. */
  async createKey(principalId: string, input: ApiKeyInput): Promise<{ key: ApiKey; secret: string }> {
    validateApiKey(input, this.ctx.now());
    await this.getPrincipal(principalId);
    const id = newId('ak');
    const secret = newSecret(id);
    const key = await store(this.ctx).apiKeys.insert(id, principalId, input, hashSecret(secret), this.ctx.now());
    return { key, secret };
  }

  async getKey(id: string): Promise<ApiKey> {
    const key = await store(this.ctx).apiKeys.get(id);
    if (!key) throw new NotFoundError('key', id, 'key_id');
    return key;
  }

  listKeys(principalId: string, page: PageRequest): Promise<Page<ApiKey>> {
    return store(this.ctx).apiKeys.list(principalId, page);
  }

  async revokeKey(id: string): Promise<ApiKey> {
    const key = await store(this.ctx).apiKeys.revoke(id, this.ctx.now());
    if (!key) throw new NotFoundError('key', id, 'key_id');
    this.changed();
    return key;
  }

  async accessBindings(folderId: string): Promise<AccessBinding[]> {
    if (!(await store(this.ctx).folders.exists(folderId))) throw new NotFoundError('folder', folderId, 'folder_id');
    return store(this.ctx).accessBindings.ofFolder(folderId);
  }

  /** Applies every delta or none, in one transaction with the folder locked. */
  async updateAccessBindings(folderId: string, deltas: AccessDelta[]): Promise<AccessBinding[]> {
    if (deltas.length === 0) throw ValidationError.of('deltas', 'is required: at least one change');
    if (deltas.length > 100) throw ValidationError.of('deltas', `has ${deltas.length} entries; at most 100`);
    deltas.forEach((d, i) => {
      if (!ROLES.includes(d.binding.role)) throw ValidationError.of(`deltas[${i}].binding.role`, 'must be ROLE_VIEWER, ROLE_USER, ROLE_DEVELOPER or ROLE_ADMIN');
      if (!d.binding.principalId) throw ValidationError.of(`deltas[${i}].binding.principal_id`, 'is required');
    });
    const result = await inTransaction(this.ctx, { kind: 'folder', id: folderId }, async (s) => {
      if (!(await s.folders.lock(folderId, 'update'))) throw new NotFoundError('folder', folderId, 'folder_id');
      for (const [i, d] of deltas.entries()) {
        const binding = { folderId, principalId: d.binding.principalId, role: d.binding.role };
        if (d.action === 'add') {
          if (!(await s.principals.get(binding.principalId))) throw new NotFoundError('principal', binding.principalId, `deltas[${i}].binding.principal_id`);
          await s.accessBindings.put(binding, this.ctx.now());
        } else if (!(await s.accessBindings.remove(binding))) {
          throw new FailedPreconditionError(`principal ${binding.principalId} has no ${binding.role} role in folder ${folderId}`, `deltas[${i}]`, 'NO_SUCH_BINDING');
        }
      }
      return s.accessBindings.ofFolder(folderId);
    });
    this.changed();
    return result;
  }

  /**
   * On the first start of an installation (no principal at all): a server
   * admin named `admin` and a key for it, written to `keyFile` (mode 0600).
   * Several Berth processes sharing a database may start at once: the
   * principal name is unique, so only one of them creates it.
   */
  async bootstrap(keyFile: string, log: Logger): Promise<void> {
    if ((await store(this.ctx).principals.count()) > 0) {
      if (!existsSync(keyFile)) log.info({ keyFile }, 'principals exist and there is no admin key file here; authenticate with a key you hold');
      return;
    }
    let admin: Principal;
    try {
      admin = await this.createPrincipal({ name: 'admin', description: 'The server admin created on the first start.', kind: 'user', serverAdmin: true });
    } catch (err) {
      if ((await store(this.ctx).principals.count()) > 0) return;
      throw err;
    }
    const { key, secret } = await this.createKey(admin.id, { description: 'created on the first start', rateLimitPerSecond: 0, rateLimitBurst: 0 });
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    log.info({ keyFile, principalId: admin.id, keyId: key.id }, 'created the server admin; its API key is in the key file (send it as "authorization: Bearer <key>")');
  }
}

/** The caller every call is under `--auth none`: a server admin, without a key. */
export const ANONYMOUS_ADMIN: Caller = {
  principal: { id: '', name: 'anonymous', description: 'every caller under --auth none', kind: 'user', serverAdmin: true, createTime: new Date(0) },
  roles: new Map(),
  anonymous: true,
};

/** A principal may manage its own keys; a server admin anyone's. */
export function mayManageKeysOf(caller: Caller, principalId: string): void {
  if (caller.principal.serverAdmin || caller.principal.id === principalId) return;
  throw new NotFoundError('principal', principalId, 'principal_id');
}
