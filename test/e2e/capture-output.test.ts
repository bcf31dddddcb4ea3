/**
 * A capture's output reaches its operation: while the cells run, the last
 * line they printed is the operation's `progress`; when they fail, the
 * error quotes what they printed last. With the real Python worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';

describe('the output of a capture in its operation', () => {
  let t: TestBerth | undefined;

  before(async () => {
    t = await startTestBerth('sqlite', { runtime: 'process' });
  });

  after(async () => {
    await t?.close();
  });

  it('shows the last printed line as progress while the cells run', async () => {
    const created = await rest(t!.http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: 'slow-start',
      cells: { cells: ['import time\nprint("loading the model", flush=True)\ntime.sleep(4)', 'y = 1'] },
      servedCellIndex: 1,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const pending = await waitFor('the printed line as progress', async () => {
      const op = await rest(t!.http, 'GET', `/v1/operations/${created.body.id}`);
      return op.body.metadata?.progress === 'loading the model' ? op.body : undefined;
    }, 10_000, 100);
    assert.equal(pending.done, false);
    const done = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '30s' });
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
    assert.equal(done.body.metadata?.progress ?? '', '', 'a done operation has nothing in progress');
  });

  it('quotes what the cells printed last in the error of a failed capture', async () => {
    const created = await rest(t!.http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: 'broken',
      cells: { cells: ['print("reading config.yaml")\nprint("config has 3 keys")', 'raise ValueError("no DB_URL")', 'y = 1'] },
      servedCellIndex: 2,
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const done = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '30s' });
    assert.equal(done.body.done, true);
    const message: string = done.body.error?.message ?? '';
    assert.match(message, /no DB_URL/);
    assert.match(message, /the cells printed last: reading config\.yaml \| config has 3 keys/, message);
  });
});
