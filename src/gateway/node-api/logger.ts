/**
 * The logging surface the node API needs. Berth logs with pino; typing the
 * proxy against this subset keeps it testable with any stand-in and free of
 * a hard dependency on pino's types.
 */

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/** A pino-compatible logger: `pino()` and its children satisfy it. */
export interface NodeApiLogger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): NodeApiLogger;
}
