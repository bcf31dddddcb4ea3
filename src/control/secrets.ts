import { FailedPreconditionError, NotFoundError, ValidationError } from '../domain/errors';
import { parseFilter, type Page, type PageRequest } from '../domain/listing';
import type { Node } from '../domain/node';
import { secretUsesOf } from '../domain/node';
import { validateSecret, validateSecretEntries, type SealedEntry, type Secret, type SecretEntry, type SecretInput, type SecretUse } from '../domain/secret';
import { SecretDecryptionError, type SecretCipher } from '../secrets/cipher';
import { newId } from '../store/ids';
import type { Store } from '../store/store';
import { checkEtag } from '../store/translate';
import { inTransaction, store, type ControlContext } from './context';
import type { Folders } from './folders';

/**
 * What a sealed value is bound to: its secret, version and key. A value moved
 * to another row, version or key (by someone who can write the database but
 * has no key) then fails to open instead of passing for that other entry.
 */
function associatedData(secretId: string, version: number, key: string): string {
  return `berth.secret.v1|${secretId}|${version}|${key}`;
}

const names = (keys: string[]): string => keys.map((k) => JSON.stringify(k)).join(', ');

/**
 * Checks a node's uses of secrets inside the transaction that writes the
 * node: each secret exists, is in the node's folder and has the keys the node
 * reads. The secrets stay locked (share) until the node is stored, so none
 * can be deleted, or lose a key to a new version, in between: both lock the
 * secret for update and look for the nodes that use it.
 */
export async function checkSecretUses(s: Store, folderId: string, uses: SecretUse[]): Promise<void> {
  const locked = await s.secrets.lockMany(uses.map((u) => u.secretId), 'share');
  const byId = new Map(locked.map((secret) => [secret.id, secret]));
  for (const use of uses) {
    const secret = byId.get(use.secretId);
    if (!secret) throw new NotFoundError('secret', use.secretId, use.field);
    // Callers who may not see the other folder heard NOT_FOUND at the access check already.
    if (secret.folderId !== folderId) throw ValidationError.of(use.field, `secret ${secret.id} is not in the node's folder ${folderId}`);
    const missing = use.keys.filter((k) => !secret.keys.includes(k));
    if (missing.length > 0)
      throw ValidationError.of(use.keyField, `secret ${secret.id} has no entry ${names(missing)}; its keys are ${names(secret.keys)}`);
  }
}

/**
 * What `node` needs of the secret that a change would take away: every use
 * (a deletion, `keys` undefined) or the keys it reads that `keys` lack.
 */
function needs(node: Node, secretId: string, keys: string[] | undefined): string | undefined {
  const who = `node ${JSON.stringify(node.name)} (${node.id})`;
  for (const use of secretUsesOf(node.spec, 'spec')) {
    if (use.secretId !== secretId) continue;
    if (keys === undefined) return `${who} uses it in ${use.field}`;
    const missing = use.keys.filter((k) => !keys.includes(k));
    if (missing.length > 0) return `${who} reads ${names(missing)} from it (${use.keyField}), which the new entries lack`;
  }
  return undefined;
}

/**
 * Secret use cases. Values cross this class in one direction each: sealed on
 * the way in, opened only for the supervisor to start an instance. Nothing
 * here logs, and no error names a value.
 */
export class Secrets {
  constructor(
    private readonly ctx: ControlContext,
    private readonly folders: Folders,
    private readonly cipher: SecretCipher,
  ) {}

  private seal(secretId: string, version: number, entries: SecretEntry[]): SealedEntry[] {
    return entries.map((e) => ({ key: e.key, value: this.cipher.seal(e.value, associatedData(secretId, version, e.key)) }));
  }

  /** Stores the secret at version 1 with its folder locked against deletion. */
  async create(input: SecretInput, entries: SecretEntry[]): Promise<Secret> {
    validateSecret(input);
    validateSecretEntries(entries);
    const id = newId('sc');
    const sealed = this.seal(id, 1, entries);
    return inTransaction(this.ctx, { kind: 'secret', id }, async (s) => {
      if (!(await s.folders.lock(input.folderId, 'share'))) throw new NotFoundError('folder', input.folderId, 'folder_id');
      const secret = s.secrets.insert(id, input, sealed, this.ctx.now());
      await s.flush('secret', { id, name: input.name, scope: `folder ${input.folderId}` });
      return secret;
    });
  }

  async get(id: string): Promise<Secret> {
    const secret = await store(this.ctx).secrets.get(id);
    if (!secret) throw new NotFoundError('secret', id, 'secret_id');
    return secret;
  }

  async list(folderId: string, page: PageRequest, filter: string): Promise<Page<Secret>> {
    await this.folders.mustExist(folderId, 'folder_id');
    return store(this.ctx).secrets.list(folderId, parseFilter(filter, ['name']), page, `secrets|${folderId}|${filter}`);
  }

  /** Changes name, description or labels; the write checks the version read (a concurrent change → ABORTED). */
  async update(id: string, mutate: (current: SecretInput) => SecretInput, etag?: string): Promise<Secret> {
    const s = store(this.ctx);
    const current = await s.secrets.get(id);
    if (!current) throw new NotFoundError('secret', id, 'secret.id');
    checkEtag('secret', id, current.version, etag);
    const next = mutate({ folderId: current.folderId, name: current.name, description: current.description, labels: { ...current.labels } });
    if (next.folderId !== current.folderId) throw ValidationError.of('secret.folder_id', 'is immutable; create the secret in the other folder');
    validateSecret(next, 'secret');
    await s.secrets.change(id, next, this.ctx.now());
    await s.flush('secret', { id, name: next.name, scope: `folder ${current.folderId}` });
    return (await s.secrets.get(id))!;
  }

  /**
   * Replaces the entries with the next version. The secret is locked for
   * update while the nodes that use it are checked: none may lose a key it
   * reads, and none can come to use the secret meanwhile (see checkSecretUses).
   */
  async addVersion(id: string, entries: SecretEntry[], etag?: string): Promise<Secret> {
    validateSecretEntries(entries);
    return inTransaction(this.ctx, { kind: 'secret', id }, async (s) => {
      const secret = await s.secrets.lock(id, 'update');
      if (!secret) throw new NotFoundError('secret', id, 'secret_id');
      checkEtag('secret', id, secret.version, etag);
      const keys = entries.map((e) => e.key);
      for (const node of await s.nodes.usingSecret(secret.folderId, id)) {
        const need = needs(node, id, keys);
        if (need) throw new FailedPreconditionError(`secret ${id}: ${need}; keep the key or change the node first`, `nodes/${node.id}`, 'IN_USE');
      }
      const version = secret.currentVersion + 1;
      await s.secrets.replaceEntries(id, version, this.seal(id, version, entries), this.ctx.now());
      await s.flush('secret', { id });
      return (await s.secrets.get(id))!;
    });
  }

  /** Deletes a secret no node uses, with the same lock as addVersion. */
  async delete(id: string, etag?: string): Promise<void> {
    await inTransaction(this.ctx, { kind: 'secret', id }, async (s) => {
      const secret = await s.secrets.lock(id, 'update');
      if (!secret) throw new NotFoundError('secret', id, 'secret_id');
      checkEtag('secret', id, secret.version, etag);
      for (const node of await s.nodes.usingSecret(secret.folderId, id)) {
        const need = needs(node, id, undefined);
        if (need) throw new FailedPreconditionError(`secret ${id} is in use: ${need}; change or delete the node first`, `nodes/${node.id}`, 'IN_USE');
      }
      await s.secrets.remove(id);
      await s.flush('secret', { id });
    });
  }

  /**
   * The current values of a secret of `folderId`, opened in memory for an
   * instance about to start; never stored or logged. A secret that is gone,
   * in another folder or cannot be opened (another key file) is a
   * FailedPreconditionError that names the secret, not a value.
   */
  async values(folderId: string, id: string): Promise<Record<string, string>> {
    const found = await store(this.ctx).secrets.sealed(id);
    if (!found || found.secret.folderId !== folderId) throw new FailedPreconditionError(`secret ${id} does not exist in folder ${folderId}`, `secrets/${id}`);
    const out: Record<string, string> = {};
    for (const entry of found.entries) {
      try {
        out[entry.key] = this.cipher.open(entry.value, associatedData(id, found.secret.currentVersion, entry.key));
      } catch (err) {
        if (!(err instanceof SecretDecryptionError)) throw err;
        throw new FailedPreconditionError(`secret ${id} cannot be decrypted: ${err.message}`, `secrets/${id}`);
      }
    }
    return out;
  }
}
