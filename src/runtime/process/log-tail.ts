import { open } from 'node:fs/promises';

/** Read backwards in steps of this size. */
const CHUNK_BYTES = 64 * 1024;

/** Never read more than this, whatever the line lengths: a tail is for a person to read. */
const MAX_TAIL_BYTES = 1024 * 1024;

/**
 * The last `lines` lines of a file, read from its end so that a long-running
 * instance's large log costs no more than its tail. A missing file has no
 * lines: that is '', not an error.
 */
export async function tailFile(path: string, lines: number): Promise<string> {
  if (lines <= 0) return '';
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const chunks: Buffer[] = [];
    let position = size;
    let read = 0;
    let newlines = 0;
    // One newline more than lines wanted (the final one ends the last line) makes the start certain.
    while (position > 0 && newlines <= lines && read < MAX_TAIL_BYTES) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      const got = chunk.subarray(0, bytesRead);
      chunks.unshift(got);
      read += bytesRead;
      for (const byte of got) if (byte === 0x0a) newlines++;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const endsWithNewline = text.endsWith('\n');
    const parts = text.split('\n');
    if (endsWithNewline) parts.pop();
    // Unless the file was read from its start, the first part is a line cut in two.
    if (position > 0) parts.shift();
    const tail = parts.slice(-lines);
    return tail.length === 0 ? '' : tail.join('\n') + (endsWithNewline ? '\n' : '');
  } finally {
    await handle.close();
  }
}
