import { LIMITS } from './limits';
import { Violations, checkBytes, checkDescription, checkLabels, checkName, quoted } from './validation';

/**
 * A folder's named key/value entries. The domain sees only the keys and the
 * version: values are sealed before they are stored and opened only to start
 * an instance, so a Secret can be shown, logged and compared without care.
 */
export interface Secret {
  id: string;
  folderId: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  /** The keys of the current version's entries, in the order they were given. */
  keys: string[];
  /** 1 at creation, one more for every new version of the entries. */
  currentVersion: number;
  createTime: Date;
  updateTime: Date;
  /** Optimistic-lock version of the row; the API shows it as the etag. */
  version: number;
}

/** The user-settable metadata of a secret. */
export type SecretInput = Pick<Secret, 'folderId' | 'name' | 'description' | 'labels'>;

/** One entry as a caller writes it. The value goes nowhere but the cipher. */
export interface SecretEntry {
  key: string;
  value: string;
}

/** The entries a secret used for a registry must have (`server` is optional). */
export const REGISTRY_KEYS = ['username', 'password'] as const;

const ENTRY_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function validateSecret(input: SecretInput, prefix = ''): void {
  const v = new Violations();
  const at = (field: string): string => (prefix ? `${prefix}.${field}` : field);
  if (input.folderId === '') v.add(at('folder_id'), 'is required');
  checkName(v, at('name'), input.name);
  checkDescription(v, at('description'), input.description);
  checkLabels(v, at('labels'), input.labels);
  v.throwIfAny();
}

/**
 * Checks the entries of a version. Messages name keys, positions and sizes,
 * never a value: a refusal is logged and returned, and a value must appear in
 * neither.
 */
export function validateSecretEntries(entries: SecretEntry[], field = 'entries'): void {
  const v = new Violations();
  if (entries.length === 0) v.add(field, 'is required: give at least one entry');
  if (entries.length > LIMITS.secretEntries) v.add(field, `has ${entries.length} entries; at most ${LIMITS.secretEntries}`);
  const seen = new Map<string, number>();
  let total = 0;
  entries.slice(0, LIMITS.secretEntries).forEach((entry, i) => {
    const key = entry.key;
    if (key === '') v.add(`${field}[${i}].key`, 'is required');
    else if (key.length > LIMITS.secretKeyChars) v.add(`${field}[${i}].key`, `is ${key.length} characters long; at most ${LIMITS.secretKeyChars}`);
    else if (!ENTRY_KEY.test(key)) v.add(`${field}[${i}].key`, `${quoted(key)} is not a valid key (a letter or "_", then letters, digits and "_", like an environment variable name)`);
    else if (seen.has(key)) v.add(`${field}[${i}].key`, `${quoted(key)} is also the key of ${field}[${seen.get(key)}]`);
    seen.set(key, i);
    total += Buffer.byteLength(key) + checkBytes(v, `${field}[${i}].value`, entry.value, LIMITS.secretValueBytes);
  });
  if (total > LIMITS.secretTotalBytes) v.add(field, `is ${total} bytes of keys and values; at most ${LIMITS.secretTotalBytes}`);
  v.throwIfAny();
}

/** A secret reference of a node that the reference checks and the resolver both follow. */
export interface SecretUse {
  /** The node's field that names the secret, as the API spells it. */
  field: string;
  /** The node's field that names the key (the secret's field when the keys are implied). */
  keyField: string;
  secretId: string;
  /** The keys the node reads from it. */
  keys: string[];
}

/**
 * A value as it is stored: AES-256-GCM ciphertext, its random 12-byte IV and
 * 16-byte tag (base64), and the id of the key that sealed it, so a wrong key
 * file is named as such instead of passing for tampering.
 */
export interface SealedValue {
  keyId: string;
  iv: string;
  data: string;
  tag: string;
}

/** One stored entry: the key in the clear (it is shown), the value sealed. */
export interface SealedEntry {
  key: string;
  value: SealedValue;
}
