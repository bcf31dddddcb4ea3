// The transaction that cross-row checks run in: on SQLite it holds the write lock from its
// first statement (BEGIN IMMEDIATE), so a check that only read still holds when it commits;
// on PostgreSQL a deadlock between two such transactions is retried once, not answered 5xx.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MikroORM } from '@mikro-orm/core';
import { openOrm } from '../../src/store/orm';
import { transaction } from '../../src/store/store';
import { freshDatabase, postgresAvailable } from '../helpers/postgres';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NOW = new Date('2026-01-01T00:00:00Z');

describe('transactions on SQLite', () => {
  let dir: string;
  let a: MikroORM;
  let b: MikroORM;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-store-'));
    // Two ORMs on one file: two connections, as two Berth processes sharing it would have.
    a = await openOrm(path.join(dir, 'berth.sqlite'));
    b = await openOrm(path.join(dir, 'berth.sqlite'));
  });
  after(async () => {
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('take the write lock when they begin: a writer waits for a transaction that has only read so far', async () => {
    let checkedAt = 0;
    const held = transaction(a, { kind: 'folder', id: 'fl-check' }, async (s) => {
      // The check: the folder does not exist yet. It must still hold when this transaction writes.
      assert.equal(await s.folders.lock('fl-one', 'update'), undefined);
      checkedAt = Date.now();
      await sleep(600);
      await s.folders.insert('fl-one', { name: 'one', description: '', labels: {} }, NOW);
    });
    while (checkedAt === 0) await sleep(10);
    // A concurrent writer on the other connection creates a folder of the same name meanwhile.
    const other = b.em.fork();
    const write = other.getConnection().execute(
      `insert into folders (id, name, description, labels, create_time, update_time, version) values ('fl-two', 'two', '', '{}', '${NOW.toISOString()}', '${NOW.toISOString()}', 1)`,
    );
    await write;
    const waitedMs = Date.now() - checkedAt;
    await held;
    assert.ok(waitedMs >= 400, `the other writer went ahead after ${waitedMs} ms, while the transaction still relied on what it read`);
  });
});

describe('transactions on PostgreSQL', () => {
  let orm: MikroORM | undefined;
  let drop: (() => Promise<void>) | undefined;

  before(async () => {
    if (!(await postgresAvailable())) return;
    const db = await freshDatabase();
    drop = db.drop;
    orm = await openOrm(db.url);
    const s = (await import('../../src/store/store')).openStore(orm);
    await s.folders.insert('fl-a', { name: 'a', description: '', labels: {} }, NOW);
    await s.folders.insert('fl-b', { name: 'b', description: '', labels: {} }, NOW);
  });
  after(async () => {
    await orm?.close();
    await drop?.();
  });

  it('retry a deadlock once: two transactions locking two rows in opposite orders both complete', async (ctx) => {
    if (!orm) return ctx.skip('PostgreSQL is not available');
    const attempts = { ab: 0, ba: 0 };
    let bothHoldFirst = 0;
    const lockBoth = (first: string, second: string, key: 'ab' | 'ba') =>
      transaction(orm!, { kind: 'folder', id: first }, async (s) => {
        attempts[key]++;
        await s.folders.lock(first, 'update');
        if (attempts[key] === 1) {
          // Both hold their first row before either asks for its second: a deadlock.
          bothHoldFirst++;
          while (bothHoldFirst < 2) await sleep(10);
        }
        await s.folders.lock(second, 'update');
        return key;
      });
    const results = await Promise.all([lockBoth('fl-a', 'fl-b', 'ab'), lockBoth('fl-b', 'fl-a', 'ba')]);
    assert.deepEqual(results, ['ab', 'ba']);
    assert.equal(attempts.ab + attempts.ba, 3, `one of them was retried once: ${JSON.stringify(attempts)}`);
  });
});
