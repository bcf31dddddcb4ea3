/**
 * Supervision on the process runtime, with a real `berth serve` and real
 * Python workers: a node whose last worker is killed turns Unhealthy within a
 * second (the child's exit event, not a probe), and a worker that keeps
 * exiting (its checkpoint blob damaged on disk) is restarted 0.5 s, 1 s, 2 s,
 * 4 s … after each exit; a new node whose worker cannot start fails its
 * CreateNode at the third crash, quoting the worker's last words.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';

const NOTEBOOK = JSON.stringify({
  cells: [
    { cell_type: 'code', metadata: {}, outputs: [], execution_count: 1, source: 'k = 2\n' },
    { cell_type: 'code', metadata: {}, outputs: [], execution_count: 2, source: 'y = x * k\n' },
  ],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});

/** Every file under a directory. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('supervision of Python workers on the process runtime', () => {
  let serve: ServeProcess | undefined;
  let nodeId = '';
  let checkpointId = '';
  const nodeIds: string[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-supp-'));
  const args = [
    '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
    '--data-dir', dataDir, '--runtime', 'process', '--cluster-id', `supp${randomBytes(4).toString('hex')}`,
  ];
  const http = () => `http://127.0.0.1:${serve!.httpPort}`;
  const getNode = async (id = nodeId) => (await rest(http(), 'GET', `/v1/nodes/${id}`)).body;
  const instances = async (id = nodeId): Promise<any[]> => (await rest(http(), 'GET', `/v1/nodes/${id}/instances`)).body.instances ?? [];
  const healthy = (id = nodeId) =>
    waitFor('the node to be healthy', async () => {
      const [i] = await instances(id);
      return (await getNode(id)).status.state === 'NODE_STATE_HEALTHY' && i?.state === 'INSTANCE_STATE_HEALTHY' ? i : undefined;
    });

  async function createNode(name: string): Promise<string> {
    const created = await rest(http(), 'POST', '/v1/nodes', {
      folderId: 'default',
      name,
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeIds.push(created.body.resourceId);
    const op = await rest(http(), 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.error, undefined, JSON.stringify(op.body));
    return created.body.resourceId;
  }

  before(async () => {
    serve = await startServe(args);
    const cap = await rest(http(), 'POST', '/v1/checkpoints', { folderId: 'default', name: 'double', notebook: NOTEBOOK, servedCellIndex: 1 });
    assert.equal(cap.status, 200, JSON.stringify(cap.body));
    const captured = await rest(http(), 'POST', `/v1/operations/${cap.body.id}:wait`, { timeout: '60s' });
    assert.equal(captured.body.error, undefined, JSON.stringify(captured.body));
    checkpointId = captured.body.resourceId;
    nodeId = await createNode('double');
  });

  after(async () => {
    for (const id of serve ? nodeIds : []) {
      const del = await rest(http(), 'DELETE', `/v1/nodes/${id}`).catch(() => undefined);
      if (del?.status === 200) await rest(http(), 'POST', `/v1/operations/${del.body.id}:wait`, { timeout: '30s' }).catch(() => undefined);
    }
    serve?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('turns the node Unhealthy within 1 s of its last worker being killed', async (t) => {
    const victim = await healthy();
    const killedAt = Date.now();
    process.kill(Number(victim.runtimeId), 'SIGKILL');
    const seenAt = await waitFor(
      'the node to be Unhealthy',
      async () => ((await getNode()).status.state === 'NODE_STATE_UNHEALTHY' ? Date.now() : undefined),
      5000,
      50,
    );
    t.diagnostic(`Unhealthy ${seenAt - killedAt} ms after the kill`);
    assert.ok(seenAt - killedAt <= 1000, `Unhealthy ${seenAt - killedAt} ms after the kill`);
    const again = await healthy();
    assert.equal(again.id, victim.id);
    assert.notEqual(again.runtimeId, victim.runtimeId);
  });

  it('restarts a worker that keeps exiting 0.5 s, 1 s, 2 s, 4 s after each exit', async (t) => {
    // A node of its own, so that no earlier restart counts in its loop.
    const looping = await createNode('looping');
    const victim = await healthy(looping);
    // The checkpoint's blob is damaged on disk: every start from now on fails to restore and exits.
    const blobs = filesUnder(path.join(dataDir, 'blobs'));
    assert.ok(blobs.length > 0, 'the blob store holds the checkpoint');
    for (const blob of blobs) writeFileSync(blob, 'not a pickle');
    const killedAt = Date.now();
    process.kill(Number(victim.runtimeId), 'SIGKILL');
    // The kill is the first exit; each start after it fails at once.
    const starts: number[] = [killedAt];
    const reasons = new Set<string>();
    await waitFor(
      'four starts of the failing worker',
      async () => {
        const [i] = await instances(looping);
        if (i?.startTime && i.runtimeId !== victim.runtimeId) {
          const at = Date.parse(i.startTime);
          if (!starts.includes(at)) starts.push(at);
        }
        if (i?.reason) reasons.add(i.reason);
        return starts.length >= 5;
      },
      30_000,
      25,
    );
    const gaps = starts.slice(1).map((at, k) => at - starts[k]!);
    const shownGaps = gaps.map((g) => `${g} ms`).join(', ');
    // Berth's own events: how long each exit waited for its restart (the back-off itself, without
    // the time the worker took to fail).
    const at = (e: any) => (typeof e.time === 'number' ? e.time : Date.parse(e.time));
    const mine = serve!.logs.filter((e) => e.instanceId === victim.id && at(e) >= killedAt - 1000);
    const exits = mine.filter((e) => e.msg === 'instance exited').map(at);
    const restarts = mine.filter((e) => e.msg === 'instance started').map(at);
    const waits = exits.flatMap((exit) => {
      const next = restarts.find((r) => r > exit);
      return next === undefined ? [] : [next - exit];
    });
    const shown = waits.map((w) => `${w} ms`).join(', ');
    t.diagnostic(`exit → restart waits: ${shown}; gaps between starts: ${shownGaps}`);
    // The gaps between starts, as the API shows them, are each back-off plus the moment the worker
    // takes to fail: the first follows the kill (0.5 s plus the time to notice it, which grows with
    // the machine's load), the next ones the worker's own failures: 1 s, 2 s, 4 s.
    assert.ok(gaps.length >= 4, `four restarts after the kill (${shownGaps})`);
    assert.ok(gaps[0]! >= 450 && gaps[0]! <= 2500, `the first restart came about 0.5 s after the kill (${shownGaps}; waits ${shown})`);
    assert.ok(gaps[1]! >= 900, `the second wait is at least 1 s (${shownGaps}; waits ${shown})`);
    for (let k = 2; k < 4; k++) assert.ok(gaps[k]! >= 1.4 * gaps[k - 1]!, `each gap is at least 1.4 times the one before (${shownGaps}; waits ${shown})`);
    // Berth's own exit and start events tell the waits without the failing time; where all of
    // them were logged, they double as the back-off's schedule.
    if (waits.length >= 4) for (let k = 2; k < 4; k++) assert.ok(waits[k]! >= 1.5 * waits[k - 1]!, `each wait is at least 1.5 times the one before (${shown})`);
    assert.ok(gaps[3]! > gaps[0]! + 2500, `the starts drift apart (${shownGaps})`);
    const told = [...reasons].join(' | ');
    assert.ok([...reasons].some((r) => /exit code 3; crash loop: restart \d+ waits \d+ s after the exit/.test(r)), `the reason tells the back-off: ${told}`);
    assert.equal((await getNode(looping)).status.state, 'NODE_STATE_UNHEALTHY');
  });

  it('fails CreateNode of a node whose worker cannot start within seconds, quoting what the worker printed', async (t) => {
    // The blob is still damaged (the test before): a worker of a new node exits at once, every time.
    const startedAt = Date.now();
    const created = await rest(http(), 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'broken',
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeIds.push(created.body.resourceId);
    const op = (await rest(http(), 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' })).body;
    const tookMs = Date.now() - startedAt;
    t.diagnostic(`failed after ${tookMs} ms: ${op.error?.message}`);
    assert.equal(op.error?.code, 9, JSON.stringify(op));
    assert.ok(tookMs < 15_000, `failed within 15 s (${tookMs} ms), not at the 120 s startup timeout`);
    assert.match(op.error.message, /exited 3 times in a row without becoming healthy, the last time with exit code 3; last output: .*UnpicklingError/);
    const crashing = (await getNode(created.body.resourceId)).status.conditions.find((c: { type: string }) => c.type === 'InstancesCrashing');
    assert.equal(crashing?.reason, 'CrashLoop', JSON.stringify(crashing));
  });
});
