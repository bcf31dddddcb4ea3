/**
 * An instance's last words. When an instance exits, Berth tells why in the
 * words that help most: its exit code and the last lines it printed, in the
 * instance's reason, in the node's `InstancesCrashing` condition and, when
 * every instance of a generation keeps crashing, as the reason its start
 * fails — at the third crash in a row, not at the startup timeout. Pure: the
 * supervisor reads the output (`src/supervisor/crash-recorder.ts`).
 */

import type { Instance } from './instance';

/** Lines of an exited instance's output that are kept. */
export const LAST_OUTPUT_LINES = 5;
/** At most this many bytes of them (their end). */
export const LAST_OUTPUT_BYTES = 1024;
/** Exits in a row, without becoming healthy, of every instance of a generation that fail its start. */
export const CRASHES_THAT_FAIL_A_START = 3;

/** One exit of an instance, as the runtime reported it. */
export interface Crash {
  /** Container id or pid of the run that ended: one run is one crash. */
  runtimeId: string;
  exitCode?: number;
  /** The runtime's words: "exit code 1", "OOMKilled", "killed by SIGKILL". */
  exitReason?: string;
  /** The last lines it printed (stdout and stderr), bounded by {@link lastOutputOf}. */
  output: string;
}

/** What the supervisor remembers of an instance that exited. */
export interface CrashRecord {
  /** Exits since the instance was last seen healthy. */
  inARow: number;
  last: Crash;
}

/**
 * The end of an instance's output as one line a person reads in a reason:
 * the last `lines` non-blank lines joined by " | ", control characters
 * dropped, at most `maxBytes` bytes (the end kept, "…" marking the cut).
 */
export function lastOutputOf(raw: string, lines = LAST_OUTPUT_LINES, maxBytes = LAST_OUTPUT_BYTES): string {
  const kept = raw
    .split(/\r?\n|\r/)
    .map((line) => line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\t/g, ' ').trim())
    .filter((line) => line.length > 0)
    .slice(-lines)
    .join(' | ');
  const bytes = Buffer.from(kept, 'utf8');
  if (bytes.length <= maxBytes) return kept;
  // Cut from the start, on a character boundary (a UTF-8 continuation byte is 10xxxxxx).
  let start = bytes.length - (maxBytes - 3);
  while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  return '…' + bytes.subarray(start).toString('utf8');
}

/** How the instance ended, always naming the exit code when there is one: "exit code 1", "OOMKilled (exit code 137)". */
export function describeExit(crash: Crash): string {
  const reason = crash.exitReason?.trim() ?? '';
  if (crash.exitCode === undefined || /\bexit code\b/.test(reason)) return reason || 'it ended';
  return reason ? `${reason} (exit code ${crash.exitCode})` : `exit code ${crash.exitCode}`;
}

/** One exit as a reason: "exit code 1; last output: db password missing". */
export function describeCrash(crash: Crash): string {
  return `${describeExit(crash)}; ${crash.output ? `last output: ${crash.output}` : 'it printed nothing'}`;
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

/** The live instances of `generation` with what is remembered of their exits. */
function recordsOf(instances: Instance[], generation: number, recordOf: (instanceId: string) => CrashRecord | undefined) {
  const current = instances.filter((i) => i.state !== 'deleting' && i.generation === generation);
  const crashed: CrashRecord[] = [];
  for (const i of current) {
    const record = recordOf(i.id);
    if (record && record.inARow > 0) crashed.push(record);
  }
  return { current, crashed };
}

/** The crash to quote: the instance that crashed most often in a row (the first of them on a tie). */
function worst(records: CrashRecord[]): CrashRecord {
  return records.reduce((a, b) => (b.inARow > a.inARow ? b : a));
}

/**
 * Whether the start of `generation` has failed because its instances keep
 * crashing: every live instance of it exited `threshold` times in a row
 * without becoming healthy. The reason names the exit code and the last
 * output; undefined while any instance may still come up.
 */
export function crashLoopFailure(
  instances: Instance[],
  generation: number,
  recordOf: (instanceId: string) => CrashRecord | undefined,
  threshold = CRASHES_THAT_FAIL_A_START,
): string | undefined {
  const { current, crashed } = recordsOf(instances, generation, recordOf);
  if (current.length === 0 || crashed.length < current.length || crashed.some((r) => r.inARow < threshold)) return undefined;
  const who = current.length === 1 ? 'the instance' : `each of the ${current.length} instances`;
  return `instances keep crashing: ${who} exited ${times(threshold)} in a row without becoming healthy, the last time with ${describeCrash(worst(crashed).last)}`;
}

/**
 * The message of the node's `InstancesCrashing` condition: how many live
 * instances of `generation` exited since they were last healthy, and the
 * last words of the one that did so most. Undefined when none did.
 */
export function crashingMessage(instances: Instance[], generation: number, recordOf: (instanceId: string) => CrashRecord | undefined): string | undefined {
  const { current, crashed } = recordsOf(instances, generation, recordOf);
  if (crashed.length === 0) return undefined;
  const most = worst(crashed);
  return `${crashed.length} of ${current.length} instance${current.length === 1 ? '' : 's'} exited without becoming healthy (${times(most.inARow)} in a row at most), last with ${describeCrash(most.last)}`;
}
