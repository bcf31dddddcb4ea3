import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedValue } from '../domain/secret';

/** AES-256 takes a 256-bit key. */
export const SECRET_KEY_BYTES = 32;
/** GCM's recommended nonce size: random 96-bit IVs are safe for far more values than a Berth stores. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that cannot be opened: another key, or bytes that were altered or moved. */
export class SecretDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptionError';
  }
}

/**
 * Seals and opens secret values with AES-256-GCM under one key. Each value
 * gets a random IV; the tag authenticates the ciphertext together with the
 * associated data the caller gives (which secret, version and key the value
 * belongs to), so a value copied to another row, version or key does not open.
 */
export class SecretCipher {
  /** A fingerprint of the key, stored with each value: a wrong key file is told apart from tampering. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== SECRET_KEY_BYTES) throw new Error(`a secret key is ${SECRET_KEY_BYTES} bytes, not ${key.length}`);
    this.keyId = createHash('sha256').update('berth secret key id\0').update(key).digest('hex').slice(0, 16);
  }

  seal(plaintext: string, associatedData: string): SealedValue {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.keyId, iv: iv.toString('base64'), data: data.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
  }

  /** The plaintext; SecretDecryptionError when the key, the bytes or the associated data differ from sealing. */
  open(sealed: SealedValue, associatedData: string): string {
    if (sealed.keyId !== this.keyId)
      throw new SecretDecryptionError(`it was encrypted under key ${sealed.keyId}, but the secret key file holds key ${this.keyId}`);
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptionError('its stored IV or tag is malformed');
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretDecryptionError('its ciphertext does not authenticate: the stored value was altered or moved');
    }
  }
}
