import { ConnectionException, LockWaitTimeoutException, OptimisticLockError, UniqueConstraintViolationException } from '@mikro-orm/core';
import { AlreadyExistsError, ConflictError, DomainError, UnavailableError, type ResourceKind } from '../domain/errors';

/** Socket errors and PostgreSQL SQLSTATEs that say the database cannot be reached now, not that a query is wrong. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // PostgreSQL: connection exceptions, shutting down, starting up, too many connections.
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // SQLite: another writer holds the database past the busy timeout.
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection error|Connection ended|timeout exceeded when trying to connect|Timeout acquiring a connection|not queryable|database is locked|the database system is (starting up|shutting down)|terminating connection/i;

/** Whether an error (or one of its causes) says that the database cannot be reached. */
function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DomainError) return false;
    if (e instanceof ConnectionException || e instanceof LockWaitTimeoutException) return true;
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (name === 'KnexTimeoutError') return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    if (e instanceof AggregateError && e.errors.some((inner) => isDatabaseUnavailable(inner))) return true;
  }
  return false;
}

/**
 * A driver or ORM error as the rest of Berth sees it: UnavailableError (the
 * original as `cause`) when the database cannot be reached, else unchanged.
 */
export function translateStoreError(err: unknown): unknown {
  if (!isDatabaseUnavailable(err)) return err;
  return new UnavailableError('the database is unavailable; try again shortly', { cause: err });
}

/**
 * Runs a write and translates the ORM's errors into domain errors at the edge
 * where they happen, keeping the original as `cause`.
 */
export async function translateWrite<T>(
  kind: ResourceKind,
  ids: { id: string; name?: string; scope?: string },
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) {
      throw Object.assign(new AlreadyExistsError(kind, ids.name ?? ids.id, ids.scope ?? 'this scope'), { cause: err });
    }
    if (err instanceof OptimisticLockError) {
      throw new ConflictError(kind, ids.id, 'was changed by a concurrent write', { cause: err });
    }
    throw err;
  }
}

/** An etag is the stored version, quoted; callers treat it as opaque. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

export function checkEtag(kind: ResourceKind, id: string, version: number, etag: string | undefined): void {
  if (etag && etag !== etagOf(version)) throw new ConflictError(kind, id, `has etag ${etagOf(version)}, not ${etag}`);
}
