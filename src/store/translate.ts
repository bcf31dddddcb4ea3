import { OptimisticLockError, UniqueConstraintViolationException } from '@mikro-orm/core';
import { AlreadyExistsError, ConflictError, type ResourceKind } from '../domain/errors';

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
