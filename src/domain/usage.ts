/**
 * Usage as the seed bills it: each instance's uptime, per second rounded up,
 * times the units of its configuration. Pure: the runs come from the store,
 * `now` from the caller.
 */

/** One run of one instance: its container or process, from start to end. */
export interface UsageRun {
  id: string;
  folderId: string;
  nodeId: string;
  instanceId: string;
  /** The container id or pid. */
  runtimeId: string;
  /** The named configuration its units came from; empty for a raw one. */
  configurationName: string;
  /** Units per instance-second. */
  units: number;
  startTime: Date;
  /** Null while it runs. */
  endTime: Date | null;
  lastSeenTime: Date;
}

export type UsageGranularity = 'hour' | 'day' | 'total';

/** One node's usage in one bucket. */
export interface UsageBucket {
  nodeId: string;
  startTime: Date;
  endTime: Date;
  instanceSeconds: number;
  units: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Longest range answered per hour: a year of hours per node is plenty for one answer. */
export const MAX_HOURLY_RANGE_MS = 366 * DAY_MS;

/**
 * How many of a run's billed seconds begin in [fromMs, toMs). A run of d ms
 * bills ceil(d / 1000) seconds, the k-th beginning at start + k s: each
 * second belongs to the bucket it begins in, so the buckets of a run add up
 * to exactly its rounded-up total, never one second more per bucket.
 */
export function billedSecondsWithin(startMs: number, endMs: number, fromMs: number, toMs: number): number {
  const total = Math.max(0, Math.ceil((endMs - startMs) / 1000));
  const first = Math.max(0, Math.ceil((fromMs - startMs) / 1000));
  const last = Math.min(total, Math.ceil((toMs - startMs) / 1000));
  return Math.max(0, last - first);
}

/** The bucket [start, end) that holds `ms`, clipped to the range. */
function bucketOf(ms: number, granularity: UsageGranularity, rangeStart: number, rangeEnd: number): [number, number] {
  if (granularity === 'total') return [rangeStart, rangeEnd];
  const size = granularity === 'hour' ? HOUR_MS : DAY_MS;
  const start = Math.floor(ms / size) * size;
  return [Math.max(start, rangeStart), Math.min(start + size, rangeEnd)];
}

/**
 * The usage of runs in [rangeStart, rangeEnd) per node and bucket (UTC hours
 * or days, or the whole range), ordered by node then time; a run still going
 * counts up to `now`. Buckets without usage are left out.
 */
export function usageBuckets(runs: UsageRun[], rangeStart: Date, rangeEnd: Date, granularity: UsageGranularity, now: Date): UsageBucket[] {
  const from = rangeStart.getTime();
  const to = rangeEnd.getTime();
  const byKey = new Map<string, UsageBucket>();
  for (const run of runs) {
    const start = run.startTime.getTime();
    const end = (run.endTime ?? new Date(Math.max(now.getTime(), run.lastSeenTime.getTime()))).getTime();
    // The last billed second begins before the end; nothing of the run lies outside [start, end + 1 s).
    let at = Math.max(from, start);
    const stop = Math.min(to, end + 1000);
    while (at < stop) {
      const [bucketStart, bucketEnd] = bucketOf(at, granularity, from, to);
      const seconds = billedSecondsWithin(start, end, bucketStart, bucketEnd);
      if (seconds > 0) {
        const key = `${run.nodeId}\u0000${bucketStart}`;
        const bucket = byKey.get(key) ?? { nodeId: run.nodeId, startTime: new Date(bucketStart), endTime: new Date(bucketEnd), instanceSeconds: 0, units: 0 };
        bucket.instanceSeconds += seconds;
        bucket.units += seconds * run.units;
        byKey.set(key, bucket);
      }
      at = bucketEnd;
    }
  }
  return [...byKey.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.startTime.getTime() - b.startTime.getTime()));
}
