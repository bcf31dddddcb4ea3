/**
 * The log store on both databases: the per-node size bound drops a node's
 * oldest lines first and leaves other nodes alone, the age bound drops old
 * lines and events, the per-node event bound keeps the newest, `contains`
 * is a plain substring (no wildcard), and a restarted collector's position
 * is the one stored with its lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { MikroORM } from '@mikro-orm/core';
import { openOrm } from '../../src/store/orm';
import { NodeLogRepository, type NewLogLine } from '../../src/store/node-log.repository';
import { freshDatabase, postgresAvailable } from '../helpers/postgres';

const line = (nodeId: string, text: string, time = new Date()): NewLogLine => ({ nodeId, instanceId: 'in-a', stream: 'stdout', time, text });

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`node log retention on ${kind}`, () => {
    let orm: MikroORM | undefined;
    let cleanup = async () => {};

    const open = async (): Promise<NodeLogRepository | undefined> => {
      if (orm) return new NodeLogRepository(orm);
      if (kind === 'postgres') {
        if (!(await postgresAvailable())) return undefined;
        const db = await freshDatabase();
        orm = await openOrm(db.url);
        cleanup = db.drop;
      } else {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-logs-'));
        orm = await openOrm(path.join(dir, 'berth.sqlite'));
        cleanup = async () => rmSync(dir, { recursive: true, force: true });
      }
      return new NodeLogRepository(orm);
    };

    after(async () => {
      await orm?.close(true);
      await cleanup();
    });

    it('bounds each node by size, oldest first, and by age', async (tc) => {
      const repo = await open();
      if (!repo) return tc.skip('PostgreSQL is not available');
      const cursor = { instanceId: 'in-a', nodeId: 'nd-big', runtimeId: 'c1', position: '10' };
      // 20 lines of 10 bytes on one node, 3 on another.
      await repo.append(Array.from({ length: 20 }, (_, i) => line('nd-big', `line-${String(i).padStart(5, '0')}`)), cursor, new Date());
      await repo.append([line('nd-small', 'a'.repeat(10)), line('nd-small', 'b'.repeat(10)), line('nd-small', 'c'.repeat(10))], { ...cursor, instanceId: 'in-b', nodeId: 'nd-small' }, new Date());
      await repo.trim(new Date(Date.now() - 3_600_000), 55, 1000);
      const big = await repo.after('nd-big', {}, undefined, 100);
      assert.deepEqual(
        big.map((l) => l.text),
        ['line-00015', 'line-00016', 'line-00017', 'line-00018', 'line-00019'],
      );
      assert.equal((await repo.after('nd-small', {}, undefined, 100)).length, 3);
      // The position was stored with the lines.
      assert.deepEqual(await repo.cursorOf('in-a'), cursor);

      await repo.append([line('nd-old', 'ancient', new Date(Date.now() - 7_200_000)), line('nd-old', 'recent')], { ...cursor, instanceId: 'in-c', nodeId: 'nd-old' }, new Date());
      await repo.insertEvent({ nodeId: 'nd-old', reason: 'Old', message: 'x' }, new Date(Date.now() - 7_200_000));
      await repo.trim(new Date(Date.now() - 3_600_000), 1_000_000, 1000);
      assert.deepEqual((await repo.after('nd-old', { stream: 'stdout' }, undefined, 100)).map((l) => l.text), ['recent']);
      assert.equal((await repo.listEvents('nd-old', {}, { pageSize: 0, pageToken: '' }, 'q')).items.length, 0);
    });

    it('keeps the newest events per node, and contains matches text literally', async (tc) => {
      const repo = await open();
      if (!repo) return tc.skip('PostgreSQL is not available');
      for (let i = 0; i < 7; i++) await repo.insertEvent({ nodeId: 'nd-ev', reason: 'Scaled', message: `step ${i}` }, new Date());
      await repo.trim(new Date(Date.now() - 3_600_000), 1_000_000, 3);
      const events = await repo.listEvents('nd-ev', {}, { pageSize: 0, pageToken: '' }, 'q');
      assert.deepEqual(events.items.map((e) => e.message), ['step 4', 'step 5', 'step 6']);

      await repo.append([line('nd-text', '100% done'), line('nd-text', '1000 done'), line('nd-text', 'a_b'), line('nd-text', 'axb')], { instanceId: 'in-t', nodeId: 'nd-text', runtimeId: 'c', position: '1' }, new Date());
      assert.deepEqual((await repo.after('nd-text', { contains: '0%' }, undefined, 10)).map((l) => l.text), ['100% done']);
      assert.deepEqual((await repo.after('nd-text', { contains: 'a_b' }, undefined, 10)).map((l) => l.text), ['a_b']);
      assert.deepEqual((await repo.last('nd-text', {}, 2)).map((l) => l.text), ['a_b', 'axb']);
    });
  });
}
