import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';

const FLAG = '--heap-growing-percent';
const MIB = 1024 * 1024;
/**
 * The floor never asks for a factor over 3 (V8's own go up to 4): the factor
 * set after one full collection applies at the next, so a small heap that
 * grows in between (as at start) must not get a huge factor for its new size.
 */
const MOST_FOR_FLOOR = 200;

/**
 * Bounds V8's old generation to a room past what the last full collection
 * left: at least `percent` of it and at least `minRoomMb` (0 percent leaves
 * V8's own, dynamic factor). The percent alone, over a live heap of ~45 MB,
 * is so little room that calls moving a few MiB each trigger a full
 * collection every few calls; the floor in bytes spares them and still keeps
 * the heap, and so RSS, flat under sustained calls.
 *
 * V8 has one knob for this, its growing factor (`--heap-growing-percent`,
 * 1 + percent/100), which it reads at every full collection, so it can be set
 * at run time. After each full collection the factor for the next one is set
 * from the heap left: max(percent, minRoomMb / live), the floor's share at most
 * 200 % (a heap under half of minRoomMb gets twice itself as room). A value given to node itself
 * (`node --heap-growing-percent=N`) wins.
 */
export function applyHeapGrowth(percent: number, minRoomMb = 0): void {
  if (process.execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`))) return;
  if (percent === 0) return;
  let applied = -1;
  const apply = (): void => {
    const live = v8.getHeapStatistics().used_heap_size;
    const floor = Math.min(Math.ceil(((minRoomMb * MIB) / Math.max(live, MIB)) * 100), MOST_FOR_FLOOR);
    const next = Math.max(percent, floor);
    if (next === applied) return;
    applied = next;
    v8.setFlagsFromString(`${FLAG}=${next}`);
  };
  apply();
  if (minRoomMb === 0) return;
  new PerformanceObserver((list) => {
    if (list.getEntries().some((entry) => (entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) apply();
  }).observe({ entryTypes: ['gc'] });
}
