import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import { SECRET_KEY_BYTES } from './cipher';

/** Thrown at start when the key file exists but does not hold a usable key. */
export class SecretKeyFileError extends Error {
  constructor(file: string, problem: string) {
    super(
      `the secret key file ${file} ${problem}; it must hold a 256-bit key: 32 raw bytes, 64 hex digits or 44 characters of base64 ` +
        '(e.g. `openssl rand -hex 32`). Secrets stored under another key cannot be read without it',
    );
    this.name = 'SecretKeyFileError';
  }
}

/**
 * The key in a key file's bytes: exactly 32 bytes are the raw key; anything
 * else is read as text (surrounding whitespace ignored), 64 hex digits or
 * the base64 (standard or URL-safe) of 32 bytes. Undefined for anything else.
 */
export function parseSecretKey(bytes: Buffer): Buffer | undefined {
  if (bytes.length === SECRET_KEY_BYTES) return Buffer.from(bytes);
  const text = bytes.toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) return Buffer.from(text, 'base64');
  if (/^[A-Za-z0-9_-]{43}=?$/.test(text)) return Buffer.from(text, 'base64url');
  return undefined;
}

/**
 * Reads the key that seals secret values, or makes one: a file that does not
 * exist is created with 32 random bytes as hex, readable by its owner only
 * (0600), exclusively, so that two processes starting at once on one data
 * dir agree on the key. A file that exists but holds no key refuses the
 * start (SecretKeyFileError): a made-up key would leave every stored secret
 * unreadable. Only the path is ever logged.
 */
export function loadSecretKey(file: string, log: Logger): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SecretKeyFileError(file, `cannot be read (${(err as Error).message})`);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Written whole under another name, then linked into place: link fails if the
    // file exists, so a process starting at the same moment never reads half a key.
    const draft = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      writeFileSync(draft, `${randomBytes(SECRET_KEY_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
      linkSync(draft, file);
      log.info({ file }, 'generated a new secret key; keep it with the database (secrets cannot be read without it)');
    } catch (writeErr) {
      if ((writeErr as NodeJS.ErrnoException).code !== 'EEXIST') throw new SecretKeyFileError(file, `cannot be created (${(writeErr as Error).message})`);
    } finally {
      rmSync(draft, { force: true });
    }
    bytes = readFileSync(file);
  }
  const key = parseSecretKey(bytes);
  if (!key) throw new SecretKeyFileError(file, `holds ${bytes.length} bytes that are none of these`);
  if ((statSync(file).mode & 0o077) !== 0) log.warn({ file }, 'the secret key file can be read by other users; chmod 600 it');
  return key;
}
