/**
 * Logs on the process runtime: what a checkpoint node's served cell prints
 * (print() goes to the worker's stdout) is in ListNodeLogs within a second
 * of the call, and after a Berth restart (the instance adopted, its log read
 * on from the stored position) old lines are still there once and new ones
 * keep coming.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { endProcessInstances } from '../helpers/process-instances';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';

describe('logs of a checkpoint node on the process runtime', () => {
  let t: TestBerth | undefined;
  let nodeId = '';

  before(async () => {
    t = await startTestBerth('sqlite', { runtime: 'process', startupTimeoutMs: 60_000 });
    const captured = await rest(t!.http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: 'printer',
      cells: { cells: ['greeting = "served"', 'y = x * 2\nprint(f"{greeting} {tag} {x}")'] },
      servedCellIndex: 1,
    });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    const cp = await rest(t!.http, 'POST', `/v1/operations/${captured.body.id}:wait`, { timeout: '60s' });
    assert.equal(cp.body.error, undefined, JSON.stringify(cp.body));
    const created = await rest(t!.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'printer',
      spec: {
        checkpoint: {
          checkpointId: cp.body.resourceId,
          inputVariables: [
            { name: 'x', type: 'VARIABLE_TYPE_INT' },
            { name: 'tag', type: 'VARIABLE_TYPE_STR' },
          ],
          outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }],
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeId = created.body.resourceId;
    const done = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
  });

  after(async () => {
    // Process instances outlive Berth by design: end them before the data dir that records them goes.
    await t?.berth.stop();
    if (t) endProcessInstances(t.config.dataDir);
    await t?.close();
  });

  const call = async (tag: string, x: number): Promise<number> => {
    // Right after a (re)start the instance joins the routing table at its first passed probe.
    const res = await waitFor('a healthy instance to answer', async () => {
      const r = await rest(t!.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x, tag } });
      return r.status === 503 ? undefined : r;
    }, 30_000, 100);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.output.y, x * 2);
    return Date.now();
  };
  const linesWith = async (tag: string): Promise<any[]> => (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?contains=${tag}`)).body.entries;

  it('a print() in the served cell is a stdout line within 1 s, kept once across a restart', async () => {
    const tag = `t${randomBytes(4).toString('hex')}`;
    const sent = await call(tag, 21);
    const [line] = await waitFor('the printed line', async () => {
      const found = await linesWith(tag);
      return found.length > 0 ? found : undefined;
    }, 5000, 50);
    assert.ok(Date.now() - sent < 1000, `the line took ${Date.now() - sent} ms`);
    assert.equal(line.text, `served ${tag} 21`);
    assert.equal(line.stream, 'stdout');
    assert.match(line.instanceId, /^in/);

    await t!.restart();
    assert.deepEqual((await linesWith(tag)).map((l) => l.id), [line.id], 'the line is kept, once');
    const later = `t${randomBytes(4).toString('hex')}`;
    await call(later, 5);
    await waitFor('the line printed after the restart', async () => (await linesWith(later)).length === 1, 5000, 50);
    // The adopted instance's log was read on from where it stopped: nothing from before came again.
    const all = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?stream=stdout&page_size=1000`)).body.entries as any[];
    const texts = all.map((l) => l.text);
    assert.equal(new Set(texts).size, texts.length, `no line twice: ${JSON.stringify(texts)}`);
  });
});
