import { RuntimeUnavailableError } from '../runtime';

/**
 * Docker errors are translated here, at the edge, so that nothing above the
 * runtime ever sees a dockerode error: either the engine could not be reached
 * ({@link RuntimeUnavailableError}) or it answered with an error
 * ({@link DockerEngineError}, which keeps the HTTP status for the few cases
 * the runtime handles itself, such as "not found" and "conflict").
 */

/** The Docker engine answered a call with an error status. */
export class DockerEngineError extends Error {
  constructor(
    /** What was being done, e.g. "create container berth-n1-i1". */
    readonly operation: string,
    /** The HTTP status of the engine's answer. */
    readonly statusCode: number,
    /** The engine's own message. */
    readonly engineMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`docker ${operation} failed: ${engineMessage}`, options);
    this.name = 'DockerEngineError';
  }
}

/** Socket-level failures: the engine is not there, not ours to use, or went away mid-call. */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'EACCES',
  'EPERM',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ABORT_ERR',
  'ERR_SOCKET_CLOSED',
]);

interface DockerodeErrorShape {
  statusCode?: unknown;
  code?: unknown;
  name?: unknown;
  message?: unknown;
  json?: { message?: unknown } | null;
}

function shape(err: unknown): DockerodeErrorShape {
  return typeof err === 'object' && err !== null ? (err as DockerodeErrorShape) : {};
}

/** The HTTP status of an engine error, translated or not; undefined for other errors. */
export function statusCodeOf(err: unknown): number | undefined {
  const code = shape(err).statusCode;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

export function isConflict(err: unknown): boolean {
  return statusCodeOf(err) === 409;
}

/** 304: "already started" / "already stopped"; success for idempotent steps. */
export function isNotModified(err: unknown): boolean {
  return statusCodeOf(err) === 304;
}

/**
 * The engine's message without dockerode's "(HTTP code 404) no such container -"
 * prefix: that is what a person needs to read.
 */
export function engineMessageOf(err: unknown): string {
  const { json, message } = shape(err);
  if (err instanceof DockerEngineError) return err.engineMessage;
  if (json && typeof json.message === 'string' && json.message !== '') return json.message;
  if (typeof message === 'string') {
    return message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  }
  return String(err);
}

/**
 * Turns whatever dockerode threw while doing `operation` into a Berth error.
 * Errors that are neither engine answers nor transport failures (a bug, say)
 * pass through unchanged rather than being mislabelled.
 */
export function translateEngineError(err: unknown, operation: string): unknown {
  if (err instanceof RuntimeUnavailableError || err instanceof DockerEngineError) return err;
  const status = statusCodeOf(err);
  if (status !== undefined) {
    return new DockerEngineError(operation, status, engineMessageOf(err), { cause: err });
  }
  const { code, name, message } = shape(err);
  if ((typeof code === 'string' && TRANSPORT_CODES.has(code)) || name === 'AbortError' || name === 'TimeoutError') {
    return new RuntimeUnavailableError(
      `the Docker engine could not be reached (${operation}): ${typeof message === 'string' ? message : String(err)}`,
      { cause: err },
    );
  }
  return err;
}
