/**
 * served_cell_index is optional: unset means the last code cell, an explicit
 * 0 stays 0. The operation a caller waits on, over REST and gRPC, carries the
 * checkpoint: the served cell, the captured variables and the packages they
 * need. Process runtime: captured in Berth's --python, and a node of it is
 * accepted (its environment is that same Python).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Checkpoint } from '../../gen/berth/v1/checkpoint';
import type { Operation } from '../../gen/berth/v1/operation';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';

for (const db of DATABASES) describe(`served_cell_index unset → the last code cell (${db})`, () => {
  let t: TestBerth;
  let rpc: ReturnType<typeof clients>;

  before(async () => {
    const started = await startTestBerth(db);
    assert.ok(started, `${db} is not available`);
    t = started;
    rpc = clients(t.grpc);
  });
  after(async () => {
    rpc?.close();
    await t?.close();
  });

  it('serves the last cell over REST and names it and the variables in the operation', async () => {
    const cells = ['import numpy as np\nv = np.arange(3)', 'k = 2', 'y = float(v.sum()) * k + x'];
    const created = await rest(t.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'last', cells: { cells } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(t.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    const cp = op.body.response;
    assert.equal(cp.servedCellIndex, 2);
    assert.deepEqual((cp.variables as any[]).map((v) => v.name).sort(), ['k', 'np', 'v']);
    // The process runtime ran Berth's --python: no image; numpy is what the state needs.
    assert.equal(cp.environmentImage ?? '', '');
    assert.deepEqual(Object.keys(cp.moduleVersions), ['numpy']);

    // Its environment (the same --python) can restore it.
    const node = await rest(t.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'last',
      spec: {
        checkpoint: { checkpointId: cp.id, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_FLOAT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_FLOAT' }] },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(node.status, 200, JSON.stringify(node.body));
    const ready = await rest(t.http, 'POST', `/v1/operations/${node.body.id}:wait`, { timeout: '60s' });
    assert.equal(ready.body.error, undefined, JSON.stringify(ready.body.error));
    const out = await rest(t.http, 'POST', `/v1/nodes/${ready.body.resourceId}:execute`, { input: { x: 1 } });
    assert.equal(out.body.output?.y, 7, JSON.stringify(out.body));
  });

  it('refuses an environment image that is not an image reference, naming the field', async () => {
    const res = await rest(t.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'bad-image', cells: { cells: ['y = 1'] }, environmentImage: 'not an image!' });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.message, /environment_image/);
  });

  it('keeps an explicit 0 over gRPC, and the waited operation embeds the checkpoint', async () => {
    const op = await unary<any, Operation>(rpc.checkpoints, 'createCheckpoint', { folderId: 'default', name: 'first', cells: { cells: ['y = x + 1', 'z = 2'] }, servedCellIndex: 0 });
    const done = await unary<any, Operation>(rpc.operations, 'waitOperation', { operationId: op.id, timeout: { seconds: 60, nanos: 0 } });
    assert.equal(done.done, true);
    assert.equal(done.response?.typeUrl, 'type.googleapis.com/berth.v1.Checkpoint');
    const cp = Checkpoint.decode(done.response!.value);
    assert.equal(cp.servedCellIndex, 0);
    assert.deepEqual(cp.variables, []);

    const unset = await unary<any, Operation>(rpc.checkpoints, 'createCheckpoint', { folderId: 'default', name: 'unset', cells: { cells: ['a = 1', 'y = a + x'] } });
    const waited = await unary<any, Operation>(rpc.operations, 'waitOperation', { operationId: unset.id, timeout: { seconds: 60, nanos: 0 } });
    const cp2 = Checkpoint.decode(waited.response!.value);
    assert.equal(cp2.servedCellIndex, 1);
    assert.deepEqual(cp2.variables.map((v) => v.name), ['a']);
  });
});
