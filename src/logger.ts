import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger; everything else takes a child with its own bindings.
 *
 * Lines go to stdout asynchronously: a line is handed to the kernel at once
 * when no write is in flight, and lines logged while one is (under load, one
 * access line per call) go out together in the next write. Berth never waits
 * on its log's reader, and a busy data plane makes one write per batch
 * instead of one per call. pino flushes what is left synchronously when the
 * process exits.
 */
export function createLogger(level: string): Logger {
  return pino(
    { level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: false }),
  );
}
