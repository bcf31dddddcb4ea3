/** At most one progress write per operation this often: a build prints many lines a second. */
export const PROGRESS_WRITE_INTERVAL_MS = 2000;

/**
 * Decides which progress lines of long work (building the system image,
 * capturing a checkpoint) are written to the operations they belong to: the
 * first at once, then at most one per interval, and a clearing ('') always
 * when something was written. Pure: the caller passes the time.
 */
export class ProgressThrottle {
  private readonly written = new Map<string, { line: string; atMs: number }>();

  constructor(private readonly intervalMs = PROGRESS_WRITE_INTERVAL_MS) {}

  /** Whether `line` should be written for `key` now; records it as written when so. */
  take(key: string, line: string, nowMs: number): boolean {
    const last = this.written.get(key);
    if (line === '') {
      if (!last) return false;
      this.written.delete(key);
      return true;
    }
    if (last && (last.line === line || nowMs - last.atMs < this.intervalMs)) return false;
    this.written.set(key, { line, atMs: nowMs });
    return true;
  }

  /** Forgets a key whose operation is done. */
  forget(key: string): void {
    this.written.delete(key);
  }
}
