import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MikroORM as PostgresOrm, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { MikroORM as SqliteOrm } from '@mikro-orm/sqlite';
import { BerthSqliteDriver } from './sqlite-driver';
import { Migrator } from '@mikro-orm/migrations';
import type { Options, MikroORM } from '@mikro-orm/core';
import { ENTITIES } from './entities';
import { StoreEntityManager } from './store-entity-manager';
import { POSTGRES_MIGRATIONS } from './migrations/postgresql';
import { SQLITE_MIGRATIONS } from './migrations/sqlite';

export type Dialect = 'postgresql' | 'sqlite';

/** `postgres://…` selects PostgreSQL; anything else is a SQLite file path (or `file:` URL). */
export function dialectOf(databaseUrl: string): Dialect {
  return /^postgres(ql)?:\/\//.test(databaseUrl) ? 'postgresql' : 'sqlite';
}

function sqlitePath(databaseUrl: string): string {
  return databaseUrl.startsWith('file:') ? databaseUrl.slice('file:'.length) : databaseUrl;
}

/** The ORM options of a database URL; also used by the migration generator. */
export function ormOptions(databaseUrl: string, logger?: Logger): Options {
  const dialect = dialectOf(databaseUrl);
  const common = {
    entities: ENTITIES,
    // Driver errors of an unreachable database leave the store as UnavailableError.
    entityManager: StoreEntityManager,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    // Entities are plain classes described by EntitySchema: no reflection needed.
    metadataProvider: undefined,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    logger: (message: string) => logger?.debug({ orm: true }, message),
    migrations: {
      tableName: 'berth_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts' as const,
      path: path.join(__dirname, 'migrations', dialect),
      migrationsList: dialect === 'postgresql' ? POSTGRES_MIGRATIONS : SQLITE_MIGRATIONS,
    },
  };
  if (dialect === 'postgresql') {
    return { ...common, driver: PostgreSqlDriver, clientUrl: databaseUrl, pool: { min: 0, max: 10 } };
  }
  const file = sqlitePath(databaseUrl);
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  return { ...common, driver: BerthSqliteDriver, dbName: file };
}

/**
 * Opens the database and brings its schema up to date with the committed
 * migrations, so a new release never needs a separate migration step.
 */
export async function openOrm(databaseUrl: string, logger?: Logger): Promise<MikroORM> {
  const options = ormOptions(databaseUrl, logger);
  const orm = dialectOf(databaseUrl) === 'postgresql' ? await PostgresOrm.init(options as never) : await SqliteOrm.init(options as never);
  if (dialectOf(databaseUrl) === 'sqlite') {
    // WAL lets readers (List/Get) go on while the supervisor writes.
    const conn = orm.em.getConnection();
    await conn.execute('pragma journal_mode = WAL');
    await conn.execute('pragma busy_timeout = 5000');
  }
  const applied = await orm.getMigrator().up();
  if (applied.length > 0) logger?.info({ migrations: applied.map((m) => m.name) }, 'database migrated');
  return orm as unknown as MikroORM;
}
