import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server tests create their databases on; trust auth on loopback. */
export const POSTGRES_ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let available: Promise<boolean> | undefined;

/** Whether PostgreSQL answers; with BERTH_REQUIRE_POSTGRES=1 its absence is a failure, not a skip. */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (err) {
      if (process.env.BERTH_REQUIRE_POSTGRES === '1') throw new Error(`PostgreSQL is required (BERTH_REQUIRE_POSTGRES=1) but ${POSTGRES_ADMIN_URL} does not answer: ${(err as Error).message}`);
      console.warn(`\n*** SKIPPING PostgreSQL tests: ${POSTGRES_ADMIN_URL} does not answer (${(err as Error).message}) ***\n`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return available;
}

/** A fresh, empty database for one test file; drop() removes it. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `berth_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
