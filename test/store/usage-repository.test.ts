// The usage runs on both databases: a run is recorded once (a second sighting of the same
// container or process changes nothing), sightings move only runs going on, an end is kept,
// and the overlap query finds exactly the runs that touch a range, in one folder or one node.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MikroORM } from '@mikro-orm/core';
import type { UsageRun } from '../../src/domain/usage';
import { openOrm } from '../../src/store/orm';
import { UsageRepository } from '../../src/store/usage.repository';
import { freshDatabase, postgresAvailable } from '../helpers/postgres';

const T = Date.parse('2026-12-04T10:00:00.000Z');
const at = (s: number) => new Date(T + s * 1000);
const run = (instanceId: string, runtimeId: string, start: number, nodeId = 'nd1', folderId = 'fl1'): Omit<UsageRun, 'id'> => ({
  folderId,
  nodeId,
  instanceId,
  runtimeId,
  configurationName: 'small',
  units: 2,
  startTime: at(start),
  endTime: null,
  lastSeenTime: at(start),
});

function behaves(open: () => Promise<{ orm: MikroORM; close(): Promise<void> } | undefined>): void {
  let db: { orm: MikroORM; close(): Promise<void> } | undefined;
  before(async () => {
    db = await open();
  });
  after(async () => db?.close());

  it('records each run once, moves only runs going on, and finds the runs that overlap a range', async (ctx) => {
    if (!db) return ctx.skip('PostgreSQL is not available');
    const repo = new UsageRepository(db.orm);
    assert.equal(await repo.begin(run('in1', '100', 0)), true);
    assert.equal(await repo.begin(run('in1', '100', 5)), false, 'the same process seen again is not a new run');
    assert.equal(await repo.begin(run('in1', '101', 20)), true, 'a restart (new pid) is a new run');
    assert.equal(await repo.begin(run('in2', '200', 10, 'nd2')), true);
    assert.equal(await repo.begin(run('in3', '300', 0, 'nd3', 'fl2')), true);

    assert.equal(await repo.end('in1', '100', at(15.5)), true);
    assert.equal(await repo.end('in1', '100', at(99)), false, 'an end is kept');
    const open = await repo.open();
    assert.deepEqual(open.map((r) => `${r.instanceId}/${r.runtimeId}`).sort(), ['in1/101', 'in2/200', 'in3/300']);
    await repo.seen(open.map((r) => r.id), at(30));
    const gone = (await repo.open()).find((r) => r.instanceId === 'in2')!;
    assert.equal(gone.lastSeenTime.getTime(), at(30).getTime());
    await repo.endAtLastSeen(gone);
    assert.equal(await repo.known('in2', '200'), true);

    const ids = async (from: number, to: number, nodeId = '') =>
      (await repo.overlapping('fl1', nodeId, at(from), at(to))).map((r) => `${r.instanceId}/${r.runtimeId}@${(r.startTime.getTime() - T) / 1000}-${r.endTime ? (r.endTime.getTime() - T) / 1000 : 'open'}`);
    assert.deepEqual(await ids(0, 100), ['in1/100@0-15.5', 'in1/101@20-open', 'in2/200@10-30']);
    assert.deepEqual(await ids(16, 19), ['in2/200@10-30'], 'between the runs of in1');
    assert.deepEqual(await ids(31, 40), ['in1/101@20-open'], 'after in2 ended');
    assert.deepEqual(await ids(0, 100, 'nd2'), ['in2/200@10-30'], 'one node');
    assert.deepEqual(await ids(-10, 0), [], 'before everything');
  });
}

describe('usage runs on SQLite', () => {
  behaves(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-usage-store-'));
    const orm = await openOrm(path.join(dir, 'berth.sqlite'));
    return {
      orm,
      async close() {
        await orm.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describe('usage runs on PostgreSQL', () => {
  behaves(async () => {
    if (!(await postgresAvailable())) return undefined;
    const db = await freshDatabase();
    const orm = await openOrm(db.url);
    return {
      orm,
      async close() {
        await orm.close();
        await db.drop();
      },
    };
  });
});
