/**
 * The token a checkpoint worker requires on every request. A worker's port
 * runs whatever is posted to it, so only Berth may call it: each instance
 * gets its own token in its environment, and Berth sends it with every call
 * and probe.
 *
 * Tokens are not stored: each is an HMAC-SHA256 of the instance id under a
 * key kept in the data dir (`worker-token.key`, mode 0600), so that after a
 * restart Berth knows the token of every instance it adopts. Berth processes
 * that share a database must share that file (they share the blobs already).
 */

import { createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** The variable the worker reads its token from (and removes before any user code runs). */
export const WORKER_TOKEN_ENV = 'BERTH_WORKER_TOKEN';

/** The key file's name in the data dir. */
export const WORKER_TOKEN_KEY_FILE = 'worker-token.key';

const KEY_BYTES = 32;

/** The `authorization` header value that carries a worker token. */
export function workerAuthorization(token: string): string {
  return `Bearer ${token}`;
}

function parseKey(file: string, text: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64url');
  if (key.length < KEY_BYTES) throw new Error(`${file} does not hold a worker token key (${KEY_BYTES} random bytes, base64url); remove it to have a new one made`);
  return key;
}

/** Reads the key, making it first when the data dir has none (no other process can read it, even briefly). */
async function loadKey(file: string): Promise<Buffer> {
  try {
    const stat = await fs.stat(file);
    if ((stat.mode & 0o077) !== 0) throw new Error(`${file} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
    return parseKey(file, await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Written whole under another name, then linked: a process starting beside this one reads the whole key or none.
  const staged = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(staged, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(staged, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.unlink(staged);
  }
  return parseKey(file, await fs.readFile(file, 'utf8'));
}

/** How many instances' tokens are kept derived. */
const DERIVED_KEPT = 4096;

/** Each instance's token, derived from the data dir's key. */
export class WorkerTokens {
  /** Tokens already derived: an HMAC per call is measurable on the Execute path. Bounded; a cleared map is only recomputed. */
  private readonly derived = new Map<string, string>();

  private constructor(private readonly key: Buffer) {}

  /** Reads `<dataDir>/worker-token.key`, or makes it (0600) when absent. */
  static async load(dataDir: string): Promise<WorkerTokens> {
    return new WorkerTokens(await loadKey(path.join(dataDir, WORKER_TOKEN_KEY_FILE)));
  }

  /** The token of one instance: the same on every start, different for every instance. */
  of(instanceId: string): string {
    let token = this.derived.get(instanceId);
    if (token === undefined) {
      token = createHmac('sha256', this.key).update(`berth worker token\0${instanceId}`).digest('base64url');
      if (this.derived.size >= DERIVED_KEPT) this.derived.clear();
      this.derived.set(instanceId, token);
    }
    return token;
  }
}
