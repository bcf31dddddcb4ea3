/**
 * A checkpoint worker's port runs whatever is posted to it, so it answers
 * only Berth: a real `berth serve` on the process runtime, a real Python
 * worker, a direct POST to the worker's own port without the instance's
 * token (or with another) refused, while Berth's Execute works — also after
 * Berth is killed and started again and adopts the running worker. The token
 * appears in no API answer and no log line, and its key file is 0600.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WORKER_TOKEN_KEY_FILE, WorkerTokens } from '../../src/checkpoint/worker-token';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { waitFor } from '../helpers/wait';
import { endProcessInstances } from '../helpers/process-instances';

/** A call as Berth's executor sends it. */
const CALL = { inputs: { x: 2 }, input_types: { x: 'int' }, outputs: [{ name: 'y', type: 'int' }] };

/** A POST straight to the worker's port, as anyone on this host could send it. */
async function postToWorker(address: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(CALL) });
  return { status: res.status, body: await res.text() };
}

describe('the checkpoint worker token', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-token-'));
  const args = [
    '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--log-level', 'debug',
    '--data-dir', dataDir, '--runtime', 'process', '--cluster-id', `tok${randomBytes(4).toString('hex')}`, '--resync-ms', '1000',
  ];
  const runs: ServeProcess[] = [];
  /** Every answer body the tests read from Berth's API. */
  const answers: string[] = [];
  let serve: ServeProcess;
  let nodeId = '';
  let instance: { id: string; address: string; runtimeId: string };
  const http = () => `http://127.0.0.1:${serve.httpPort}`;
  const call = async (method: string, requestPath: string, body?: unknown) => {
    const res = await rest(http(), method, requestPath, body);
    answers.push(JSON.stringify(res.body));
    return res;
  };
  const wait = async (operationId: string) => {
    const op = await call('POST', `/v1/operations/${operationId}:wait`, { timeout: '60s' });
    assert.equal(op.status, 200, JSON.stringify(op.body));
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    return op.body;
  };
  const execute = async (x: number) => {
    const res = await call('POST', `/v1/nodes/${nodeId}:execute`, { input: { x } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.output;
  };
  const healthyInstance = () =>
    waitFor('a healthy instance', async () => {
      const listed = await call('GET', `/v1/nodes/${nodeId}/instances`);
      const [i] = listed.body.instances ?? [];
      return i?.state === 'INSTANCE_STATE_HEALTHY' ? i : undefined;
    });

  before(async () => {
    serve = await startServe(args);
    runs.push(serve);
  });

  after(async () => {
    for (const r of runs) r.proc.kill('SIGKILL');
    endProcessInstances(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves Execute through Berth while the worker refuses direct calls without its token', async () => {
    const captured = await call('POST', '/v1/checkpoints', { folderId: 'default', name: 'double', cells: { cells: ['k = 2', 'y = x * k'] }, servedCellIndex: 1 });
    assert.equal(captured.status, 200, JSON.stringify(captured.body));
    const checkpointId = (await wait(captured.body.id)).resourceId as string;
    const created = await call('POST', '/v1/nodes', {
      folderId: 'default',
      name: 'double',
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeId = (await wait(created.body.id)).resourceId as string;
    instance = await healthyInstance();

    assert.deepEqual(await execute(3), { y: 6 });
    for (const [headers, status] of [
      [{}, 401],
      [{ authorization: 'Bearer guessed' }, 403],
      [{ authorization: `Bearer ${(await WorkerTokens.load(path.join(dataDir, 'another-berth'))).of(instance.id)}` }, 403],
    ] as Array<[Record<string, string>, number]>) {
      const direct = await postToWorker(instance.address, headers);
      assert.equal(direct.status, status, direct.body);
      assert.doesNotMatch(direct.body, /"outputs"/);
    }
    const health = await fetch(`http://${instance.address}/healthz`);
    assert.equal(health.status, 401);
    await health.text();
  });

  it('keeps the key that derives the tokens in the data dir, readable by Berth alone', () => {
    const key = statSync(path.join(dataDir, WORKER_TOKEN_KEY_FILE));
    assert.equal(key.mode & 0o777, 0o600);
  });

  it('still calls the adopted worker after Berth is killed and started again', async () => {
    serve.proc.kill('SIGKILL');
    await serve.exited;
    serve = await startServe(args);
    runs.push(serve);
    // The row says healthy from before; the new Berth routes calls once its own probe (with the token) passes.
    const output = await waitFor('Execute on the adopted worker', async () => {
      const res = await call('POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 5 } });
      return res.status === 200 ? res.body.output : undefined;
    });
    assert.deepEqual(output, { y: 10 });
    const adopted = await healthyInstance();
    assert.equal(adopted.id, instance.id);
    assert.equal(adopted.runtimeId, instance.runtimeId, 'the same worker process, adopted');
    assert.equal((await postToWorker(adopted.address, {})).status, 401);
  });

  it('shows the token in no API answer and no log line', async () => {
    const token = (await WorkerTokens.load(dataDir)).of(instance.id);
    assert.equal((await postToWorker(instance.address, { authorization: `Bearer ${token}` })).status, 200, 'the derived token is the one the worker holds');
    for (const requestPath of [`/v1/nodes/${nodeId}`, '/v1/nodes?folder_id=default', `/v1/nodes/${nodeId}/instances`]) await call('GET', requestPath);
    for (const body of answers) assert.ok(!body.includes(token), `an API answer holds the token: ${body}`);
    const lines = runs.flatMap((r) => r.logs.map((l) => JSON.stringify(l)));
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(!line.includes(token), `a log line holds the token: ${line}`);
  });
});
