import type Dockerode from 'dockerode';
import { boundedLine } from '../../domain/node-log';
import type { LogRead, RuntimeLogLine } from '../runtime';

/** A Docker log timestamp in nanoseconds since the epoch (RFC 3339 with up to nine fraction digits). */
function nanosOf(stamp: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(stamp);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}Z`);
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** `since` for the engine: seconds with a nanosecond fraction. */
function sinceOf(nanos: bigint): string {
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * The lines of a container's log after `position` (`<nanos>:<n>`: the time
 * of the last line read and how many lines of exactly that time were read,
 * since the engine's `since` includes its own instant). Docker frames a
 * non-TTY container's output with an 8-byte header per chunk naming the
 * stream; with timestamps on, each chunk starts with its time.
 */
export async function readContainerLogs(docker: Dockerode, containerId: string, position: string, signal?: AbortSignal): Promise<LogRead> {
  const m = /^(\d+):(\d+)$/.exec(position);
  const after = m ? { nanos: BigInt(m[1]!), seen: Number(m[2]) } : undefined;
  const raw = (await docker.getContainer(containerId).logs({
    stdout: true,
    stderr: true,
    timestamps: true,
    follow: false,
    ...(after ? { since: sinceOf(after.nanos) as unknown as number } : {}),
    ...(signal ? { abortSignal: signal } : {}),
  })) as unknown as Buffer;
  const lines: Array<RuntimeLogLine & { nanos: bigint }> = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const kind = raw[at]!;
    const size = raw.readUInt32BE(at + 4);
    const frame = raw.subarray(at + 8, at + 8 + size).toString('utf8');
    at += 8 + size;
    if (kind !== 1 && kind !== 2) continue;
    for (const piece of frame.split('\n')) {
      if (piece === '') continue;
      const space = piece.indexOf(' ');
      const nanos = nanosOf(space > 0 ? piece.slice(0, space) : piece);
      if (nanos === undefined) continue;
      lines.push({ stream: kind === 1 ? 'stdout' : 'stderr', nanos, time: new Date(Number(nanos / 1_000_000n)), text: boundedLine(space > 0 ? piece.slice(space + 1) : '') });
    }
  }
  // Stdout and stderr frames come in the order written; the sort is stable, so equal times keep it.
  lines.sort((a, b) => (a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0));
  let skip = after?.seen ?? 0;
  const fresh = lines.filter((l) => {
    if (!after || l.nanos > after.nanos) return true;
    if (l.nanos < after.nanos) return false;
    return skip-- <= 0;
  });
  if (fresh.length === 0) return { lines: [], position };
  const last = fresh[fresh.length - 1]!.nanos;
  const atLast = lines.filter((l) => l.nanos === last).length;
  return { lines: fresh.map(({ stream, time, text }) => ({ stream, time, text })), position: `${last}:${atLast}` };
}
