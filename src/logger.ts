import pino, { type Logger } from 'pino';

export type { Logger };

/** The one root logger; everything else takes a child with its own bindings. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'berth' }, timestamp: pino.stdTimeFunctions.isoTime });
}
