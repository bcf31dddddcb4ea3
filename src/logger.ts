import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger; everything else takes a child with its own bindings.
 *
 * Lines go to stdout asynchronously, in batches: they are handed to the
 * kernel once {@link BATCH_BYTES} wait or {@link FLUSH_MS} have passed,
 * whichever comes first. Berth never waits on its log's reader, and a busy
 * data plane (one access line per call) makes one write per batch instead of
 * one per call: with HAProxy relaying thousands of calls a second, a write
 * per line was a third of Berth's CPU. pino flushes what is left
 * synchronously when the process exits.
 */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES });
  // What waits in the batch goes out within FLUSH_MS, however quiet Berth is.
  const flusher = setInterval(() => {
    try {
      destination.flush();
    } catch {
      // Closed or being written: the next tick, or pino's final flush, takes it.
    }
  }, FLUSH_MS);
  flusher.unref();
  return pino({ level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Lines are written once this many bytes wait (under load, dozens of access lines per write). */
const BATCH_BYTES = 8 * 1024;
/** …or after this long. */
const FLUSH_MS = 50;
