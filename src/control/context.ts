import type { EntityManager, MikroORM } from '@mikro-orm/core';

/**
 * What every use case needs: the ORM (forked per call, never shared) and a
 * clock, passed in so that tests and the domain never read the wall clock themselves.
 */
export interface ControlContext {
  orm: MikroORM;
  now: () => Date;
}

/** A fresh EntityManager for one call or one reconcile pass. */
export function fork(ctx: ControlContext): EntityManager {
  return ctx.orm.em.fork({ clear: true });
}
