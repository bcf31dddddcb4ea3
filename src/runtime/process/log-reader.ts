import { open } from 'node:fs/promises';
import { boundedLine, splitLines } from '../../domain/node-log';
import type { LogRead } from '../runtime';

/** Read at most this much of a log file per call: a chatty instance is read over several calls. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * The lines of a process instance's log file after byte offset `position`.
 * The file holds stdout and stderr together (one descriptor for both, so
 * that their order is kept), so every line is `stdout`; the time is when it
 * was read. A file shorter than the position was started anew (the instance
 * was restarted in place): it is read from its start. A missing file has no
 * lines. `final`: the instance has exited, so an unfinished last line is
 * taken as it is.
 */
export async function readLogFile(path: string, position: string, final: boolean, now: Date): Promise<LogRead> {
  let offset = /^\d+$/.test(position) ? Number(position) : 0;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], position };
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size < offset) offset = 0;
    const length = Math.min(size - offset, MAX_READ_BYTES);
    if (length <= 0) return { lines: [], position: String(offset) };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    let chunk = buffer.subarray(0, bytesRead);
    const lastNewline = chunk.lastIndexOf(0x0a);
    const whole = final && offset + bytesRead >= size;
    // Without a newline in a full read, a line longer than a read is taken in pieces rather than never.
    if (!whole && lastNewline >= 0) chunk = chunk.subarray(0, lastNewline + 1);
    else if (!whole && bytesRead < MAX_READ_BYTES) return { lines: [], position: String(offset) };
    const { lines, rest } = splitLines(chunk.toString('utf8'));
    if (rest !== '') lines.push(rest);
    return { lines: lines.map((text) => ({ stream: 'stdout' as const, time: now, text: boundedLine(text) })), position: String(offset + chunk.length) };
  } finally {
    await handle.close();
  }
}
