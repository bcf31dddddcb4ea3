import { SqlEntityManager } from '@mikro-orm/knex';
import { translateStoreError } from './translate';

/**
 * The EntityManager of every fork: the same as MikroORM's, except that a
 * database that cannot be reached (connection refused, reset or terminated,
 * pool timeout, SQLite busy) is reported as UnavailableError with the
 * driver's error as `cause`. This is the store's edge: use cases and the API
 * see a domain error, never a driver error, whichever query met the outage.
 */
export class StoreEntityManager extends SqlEntityManager {}

/** The EntityManager methods that reach the database (and return a promise). */
const DATABASE_METHODS = [
  'find',
  'findOne',
  'findOneOrFail',
  'findAndCount',
  'findAll',
  'findByCursor',
  'count',
  'flush',
  'transactional',
  'begin',
  'commit',
  'rollback',
  'upsert',
  'upsertMany',
  'insert',
  'insertMany',
  'nativeInsert',
  'nativeUpdate',
  'nativeDelete',
  'lock',
  'refresh',
  'refreshOrFail',
  'populate',
  'execute',
] as const;

const proto = SqlEntityManager.prototype as unknown as Record<string, unknown>;
for (const name of DATABASE_METHODS) {
  const original = proto[name];
  if (typeof original !== 'function') continue;
  Object.defineProperty(StoreEntityManager.prototype, name, {
    configurable: true,
    writable: true,
    value: function (this: StoreEntityManager, ...args: unknown[]): unknown {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(translateStoreError(err))) : result;
    },
  });
}
