import type { MikroORM } from '@mikro-orm/core';
import type { ResourceKind } from '../domain/errors';
import { openStore, transaction, type Store } from '../store/store';

/**
 * What every use case needs: the ORM (forked per call, never shared) and a
 * clock, passed in so that tests and the domain never read the wall clock themselves.
 */
export interface ControlContext {
  orm: MikroORM;
  now: () => Date;
}

/** The repositories of a fresh unit of work, for one call. */
export function store(ctx: ControlContext): Store {
  return openStore(ctx.orm);
}

/** Runs a use case's checks and writes in one transaction with the rows it reads locked (see `transaction`). */
export function inTransaction<T>(ctx: ControlContext, subject: { kind: ResourceKind; id: string }, work: (store: Store) => Promise<T>): Promise<T> {
  return transaction(ctx.orm, subject, work);
}
