/**
 * Generates the next migration of each dialect from the entities:
 *   npx tsx scripts/make-migration.ts
 * It applies the committed migrations to a scratch database, diffs the
 * entities against it and writes the difference under src/store/migrations/<dialect>/.
 * Add the new class to that folder's index.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openOrm } from '../src/store/orm';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-migration-'));
  const pgAdmin = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const scratch = `berth_migration_${Date.now()}`;
  const admin = new Client({ connectionString: pgAdmin });
  await admin.connect();
  await admin.query(`create database ${scratch}`);
  try {
    const url = new URL(pgAdmin);
    url.pathname = `/${scratch}`;
    for (const [dialect, dbUrl] of [
      ['sqlite', path.join(dir, 'scratch.sqlite')],
      ['postgresql', url.toString()],
    ] as const) {
      const orm = await openOrm(dbUrl);
      const migrator = orm.getMigrator();
      const pending = await migrator.getExecutedMigrations();
      const result = await migrator.createMigration(undefined, false, pending.length === 0);
      console.log(dialect, result.fileName || 'no changes');
      await orm.close(true);
    }
  } finally {
    await admin.query(`drop database if exists ${scratch} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
