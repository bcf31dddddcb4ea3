import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { startBerth } from '../../src/main';
import { DATABASES, startTestBerth } from '../helpers/berth';
import { sleep } from '../helpers/wait';

async function waitFor(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

for (const db of DATABASES) {
  describe(`several Berth processes on one ${db} database`, () => {
    it('let exactly one reconcile at a time, and another take over when it stops', async (t) => {
      const first = await startTestBerth(db, { resyncMs: 200 });
      if (!first) return t.skip('PostgreSQL is not available');
      const otherDir = mkdtempSync(path.join(os.tmpdir(), 'berth-leader-'));
      const second = await startBerth(
        { ...first.config, grpcPort: 0, httpPort: 0, nodeApiPort: 0, dataDir: otherDir },
        pino({ level: process.env.BERTH_TEST_LOG_LEVEL ?? 'silent' }),
      );
      try {
        await waitFor('a leader', () => first.berth.supervisor.isLeader() || second.supervisor.isLeader());
        await sleep(1000);
        const leaders = [first.berth.supervisor.isLeader(), second.supervisor.isLeader()].filter(Boolean).length;
        assert.equal(leaders, 1, 'exactly one process supervises');
        assert.equal(first.berth.supervisor.isLeader(), true, 'the first to start took the lock');
        await first.berth.stop();
        await waitFor('the second process to take over', () => second.supervisor.isLeader());
      } finally {
        await second.stop();
        await first.close();
        rmSync(otherDir, { recursive: true, force: true });
      }
    });
  });
}
