import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Checkpoint blobs by content digest under the data directory. The same
 * state captured twice is stored once; a blob is written by rename, so a
 * reader never sees half of one.
 */
export class BlobStore {
  constructor(private readonly dir: string) {}

  pathOf(digest: string): string {
    const hex = digest.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.dir, 'sha256', hex);
  }

  /** Moves a finished file into the store and returns its digest and size. */
  async put(file: string): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const digest = `sha256:${hash.digest('hex')}`;
    const target = this.pathOf(digest);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
    return { digest, size: (await stat(target)).size };
  }

  async has(digest: string): Promise<boolean> {
    return stat(this.pathOf(digest)).then(
      () => true,
      () => false,
    );
  }

  async remove(digest: string): Promise<void> {
    await rm(this.pathOf(digest), { force: true });
  }
}
