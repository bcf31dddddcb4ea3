import { LockMode } from '@mikro-orm/core';

/**
 * How a transaction holds a row it read: `share` keeps others from changing or
 * deleting it until the transaction ends (PostgreSQL `FOR SHARE`), `update`
 * also from locking it themselves (`FOR UPDATE`). On SQLite both are the
 * write lock every transaction takes when it begins (see sqlite-driver.ts).
 */
export type RowLock = 'share' | 'update';

export function lockModeOf(lock: RowLock): LockMode.PESSIMISTIC_WRITE | LockMode.PESSIMISTIC_READ {
  return lock === 'update' ? LockMode.PESSIMISTIC_WRITE : LockMode.PESSIMISTIC_READ;
}
