/**
 * Scale from zero, end to end: nodes with `instance_range.min` 0 sleep (no
 * instance runs) and say so in their status; a burst of calls to a sleeping
 * node wakes it once and every call is held, not failed, until its first
 * instance serves; after its idle window without calls the node sleeps
 * again. Checkpoint nodes on the process runtime are called with Execute
 * (REST and gRPC) and through an alias; Docker nodes on the real engine
 * through the node API, by id and by alias. A node whose instance never
 * becomes healthy shows the bound: held calls get 503 / UNAVAILABLE with
 * `retry-after`, and calls beyond the held queue 429 / RESOURCE_EXHAUSTED.
 * Nothing here asserts a duration.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { NodeExecutionRequest, NodeExecutionResponse } from '../../gen/berth/v1/node_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';
import { clients, statusDetails, unary } from '../helpers/grpc';
import { samplesOf, sumOf } from '../helpers/metrics';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';
import { buildTestImages } from '../images/test-images';

/** Calls sent at once to a sleeping node. */
const BURST = 20;
/** The idle window of the nodes here: short, so that the tests see them fall asleep again. */
const IDLE = '2s';
const RETRY_INFO = 'google.rpc.RetryInfo';

async function waitOperation(http: string, id: string): Promise<any> {
  const op = await rest(http, 'POST', `/v1/operations/${id}:wait`, { timeout: '60s' });
  assert.equal(op.status, 200, JSON.stringify(op.body));
  assert.equal(op.body.done, true, JSON.stringify(op.body));
  assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
  return op.body;
}

async function getNode(http: string, nodeId: string): Promise<any> {
  const res = await rest(http, 'GET', `/v1/nodes/${nodeId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

function conditionOf(node: any, type: string): any {
  return (node.status.conditions as any[]).find((c) => c.type === type);
}

/** Checks that the node sleeps, and that it does not look failed while it does. */
async function assertAsleep(http: string, nodeId: string): Promise<any> {
  const node = await getNode(http, nodeId);
  assert.equal(node.status.state, 'NODE_STATE_HEALTHY', JSON.stringify(node.status));
  assert.match(node.status.reason, /^asleep: /);
  assert.equal(node.status.desiredInstances ?? 0, 0);
  assert.deepEqual([conditionOf(node, 'Asleep').status, conditionOf(node, 'Asleep').reason], [true, 'ScaledToZero']);
  assert.deepEqual([conditionOf(node, 'Ready').status, conditionOf(node, 'Ready').reason], [true, 'Asleep']);
  const instances = await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`);
  assert.deepEqual(instances.body.instances ?? [], []);
  return node;
}

/** Waits until the node has fallen asleep again: no instance left, the status saying so. */
async function waitAsleep(http: string, nodeId: string): Promise<any> {
  await waitFor(
    'the node to fall asleep',
    async () => {
      const node = await getNode(http, nodeId);
      const instances = (await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances ?? [];
      return conditionOf(node, 'Asleep')?.status === true && instances.length === 0;
    },
    60_000,
  );
  return assertAsleep(http, nodeId);
}

async function wakeSamples(http: string, nodeId: string): Promise<number> {
  const res = await fetch(`${http}/metrics`);
  assert.equal(res.status, 200);
  return sumOf(samplesOf(await res.text()), 'berth_node_wake_seconds_count', { node_id: nodeId });
}

async function heldCalls(http: string, nodeId: string): Promise<number> {
  const res = await fetch(`${http}/metrics`);
  assert.equal(res.status, 200);
  return sumOf(samplesOf(await res.text()), 'berth_node_wake_held_calls', { node_id: nodeId });
}

async function events(http: string, nodeId: string, reason: string): Promise<any[]> {
  const res = await rest(http, 'GET', `/v1/nodes/${nodeId}/events?pageSize=1000`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return ((res.body.events ?? []) as any[]).filter((e) => e.reason === reason);
}

/**
 * Waits until `count` reaches `expected` (events and the wake's metric are
 * written by the supervisor's pass, just after the instance began to serve),
 * then checks it is exactly that.
 */
async function expectCount(what: string, count: () => Promise<number>, expected: number): Promise<void> {
  await waitFor(`${what} to reach ${expected}`, async () => (await count()) >= expected);
  assert.equal(await count(), expected, what);
}

describe('scale from zero: a checkpoint node on the process runtime', () => {
  let t: TestBerth | undefined;
  let rpc: ReturnType<typeof clients>;
  let checkpointId = '';
  let nodeId = '';

  before(async () => {
    t = await startTestBerth('sqlite', { resyncMs: 1000 });
    rpc = clients(t!.grpc);
    const cp = await rest(t!.http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: 'doubler',
      cells: { cells: ['import os', 'y = x * 2\npid = os.getpid()'] },
      servedCellIndex: 1,
    });
    assert.equal(cp.status, 200, JSON.stringify(cp.body));
    checkpointId = (await waitOperation(t!.http, cp.body.id)).response.id;
  });

  after(async () => {
    rpc?.close();
    await t?.close();
  });

  const execute = (http: string, id: string, x: number) => rest(http, 'POST', `/v1/nodes/${id}:execute`, { input: { x } });
  const grpcExecute = (id: string, x: number) =>
    unary<Partial<NodeExecutionRequest>, NodeExecutionResponse>(rpc.nodes, 'execute', { folderId: 'default', nodeId: id, input: { x } });

  it('creates a node with min 0 asleep, and shows it asleep, not failed', async () => {
    const created = await rest(t!.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'sleepy',
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }, { name: 'pid', type: 'VARIABLE_TYPE_INT' }] },
        instanceRange: { min: 0, max: 2 },
        autoscaling: { scaleToZeroAfter: IDLE },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await waitOperation(t!.http, created.body.id);
    nodeId = op.resourceId;
    assert.equal(op.response.spec.autoscaling.scaleToZeroAfter, IDLE);
    await waitAsleep(t!.http, nodeId);
    const node = await assertAsleep(t!.http, nodeId);
    assert.equal(node.status.lastWakeDuration, undefined, 'never woken yet');
  });

  it(`holds ${BURST} concurrent Execute calls (REST and gRPC) while one wake starts an instance; all succeed; the node sleeps again after its idle window`, async () => {
    const calls = Array.from({ length: BURST }, (_, x) =>
      x % 2 === 0
        ? execute(t!.http, nodeId, x).then((res) => {
            assert.equal(res.status, 200, JSON.stringify(res.body));
            return res.body.output as { y: number; pid: number };
          })
        : grpcExecute(nodeId, x).then((res) => res.output as { y: number; pid: number }),
    );
    const outputs = await Promise.all(calls);
    outputs.forEach((out, x) => assert.equal(out.y, 2 * x));

    // One wake for the whole burst: one Woken event, one wake measured, and a status that tells how long it took.
    await expectCount('Woken events', () => events(t!.http, nodeId, 'Woken').then((e) => e.length), 1);
    await expectCount('wakes measured', () => wakeSamples(t!.http, nodeId), 1);
    // The status follows the pass that saw the instance serve.
    const awake = await waitFor('the wake in the status', async () => {
      const node = await getNode(t!.http, nodeId);
      return node.status.lastWakeDuration ? node : undefined;
    });
    assert.ok(awake.status.lastWakeTime);
    assert.match(awake.status.lastScalingDecision, /woken by a call|scaled up/);

    const asleep = await waitAsleep(t!.http, nodeId);
    assert.match(asleep.status.lastScalingDecision, /^asleep: scaled \d -> 0 after 2s without calls$/);
    assert.ok((await events(t!.http, nodeId, 'Asleep')).length >= 1);
  });

  it('wakes the node for a call through an alias (REST and typed route), and it sleeps again', async () => {
    const alias = await rest(t!.http, 'POST', '/v1/aliases', { folderId: 'default', name: 'doubler', targets: [{ nodeId, weight: 100 }] });
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    const before = await getNode(t!.http, nodeId);
    const [generic, typed] = await Promise.all([
      rest(t!.http, 'POST', '/v1/aliases/doubler:execute', { folderId: 'default', input: { x: 21 } }),
      rest(t!.http, 'POST', `/v1/aliases/${alias.body.id}/api:execute`, { x: '5' }),
    ]);
    assert.equal(generic.status, 200, JSON.stringify(generic.body));
    assert.deepEqual([generic.body.nodeId, generic.body.output.y], [nodeId, 42]);
    assert.equal(typed.status, 200, JSON.stringify(typed.body));
    assert.equal(typed.body.y, '10');
    assert.equal(typed.headers.get('x-berth-node-id'), nodeId);
    await expectCount('Woken events', () => events(t!.http, nodeId, 'Woken').then((e) => e.length), 2);
    await waitFor('the second wake in the status', async () => (await getNode(t!.http, nodeId)).status.lastWakeTime !== before.status.lastWakeTime);
    await waitAsleep(t!.http, nodeId);
  });

  it('keeps a node with min 0 awake while calls keep coming within its window', async () => {
    const first = await execute(t!.http, nodeId, 1);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    // Calls one after another for longer than the idle window: the node never sleeps in between.
    const pids = new Set<number>();
    const started = Date.now();
    while (Date.now() - started < 4000) {
      const res = await execute(t!.http, nodeId, 2);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pids.add(res.body.output.pid);
    }
    assert.equal(pids.size, 1, 'one instance served them all: it was never stopped');
    await expectCount('Woken events', () => events(t!.http, nodeId, 'Woken').then((e) => e.length), 3);
    await waitAsleep(t!.http, nodeId);
  });
});

describe('scale from zero: the bound on a held call (process runtime)', () => {
  let t: TestBerth | undefined;
  let rpc: ReturnType<typeof clients>;
  let nodeId = '';

  before(async () => {
    // A bound no instance can meet: the supervisor's pass alone takes longer than a millisecond.
    t = await startTestBerth('sqlite', { resyncMs: 1000, wake: { holdMs: 1, maxHeld: 256 } });
    rpc = clients(t!.grpc);
    const cp = await rest(t!.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'one', cells: { cells: ['y = x + 1'] }, servedCellIndex: 0 });
    assert.equal(cp.status, 200, JSON.stringify(cp.body));
    const checkpointId = (await waitOperation(t!.http, cp.body.id)).response.id;
    const created = await rest(t!.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'slow-to-wake',
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
        instanceRange: { min: 0, max: 1 },
        autoscaling: { scaleToZeroAfter: '60s' },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeId = (await waitOperation(t!.http, created.body.id)).resourceId;
    await waitAsleep(t!.http, nodeId);
  });

  after(async () => {
    rpc?.close();
    await t?.close();
  });

  it('answers a call held past the bound with 503 / UNAVAILABLE and retry-after, and the node serves once awake', async () => {
    const res = await fetch(`${t!.http}/v1/nodes/${nodeId}:execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { x: 1 } }),
    });
    const body = (await res.json()) as any;
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.code, grpc.status.UNAVAILABLE);
    assert.match(body.message, /was asleep/);
    assert.equal(res.headers.get('retry-after'), '5');
    assert.ok((body.details as any[]).some((d) => d['@type'].endsWith(RETRY_INFO)), JSON.stringify(body));

    const err = await unary<Partial<NodeExecutionRequest>, NodeExecutionResponse>(rpc.nodes, 'execute', { folderId: 'default', nodeId, input: { x: 1 } }).then(
      (ok) => assert.fail(`the call succeeded while the node woke: ${JSON.stringify(ok)}`),
      (e: grpc.ServiceError) => e,
    );
    assert.equal(err.code, grpc.status.UNAVAILABLE, err.message);
    assert.deepEqual(err.metadata.get('retry-after'), ['5']);
    assert.ok(statusDetails(err).some((d) => d.typeName === RETRY_INFO));

    // The wake went on without the callers: the node serves, and a retry passes.
    await waitFor('the node to wake', async () => (await getNode(t!.http, nodeId)).status.instanceCounts?.healthy === 1);
    const retried = await rest(t!.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 1 } });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.output.y, 2);
  });
});

describe('scale from zero: Docker nodes through the node API', () => {
  let skip = false;
  let t: TestBerth | undefined;
  let httpImage = '';
  const clusterId = `szd${randomBytes(4).toString('hex')}`;
  /** Held calls per node: the burst fits, a larger one does not. */
  const MAX_HELD = BURST;

  const dockerNode = (name: string, env: Record<string, string> = {}) => ({
    folderId: 'default',
    name,
    spec: {
      docker: {
        image: httpImage,
        env,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '20s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
      },
      instanceRange: { min: 0, max: 2 },
      autoscaling: { scaleToZeroAfter: IDLE },
    },
  });

  async function createNode(body: unknown): Promise<string> {
    const created = await rest(t!.http, 'POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return (await waitOperation(t!.http, created.body.id)).resourceId;
  }

  const nodeApi = (): string => `http://127.0.0.1:${t!.berth.nodeApiPort}`;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    httpImage = (await buildTestImages()).http;
    // A bound long enough for a container to start, short enough for the never-healthy node's test.
    t = await startTestBerth('sqlite', { runtime: 'docker', clusterId, pullImages: false, resyncMs: 1000, startupTimeoutMs: 60_000, wake: { holdMs: 15_000, maxHeld: MAX_HELD } });
  });

  after(async () => {
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  it(`holds ${BURST} concurrent node-API calls to a sleeping Docker node while it wakes, then through an alias, and it sleeps again`, async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const nodeId = await createNode(dockerNode('web-sleepy'));
    await waitAsleep(t!.http, nodeId);
    assert.equal((await listByClusterId(clusterId)).containers.length, 0, 'no container runs while the node sleeps');

    const answers = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const res = await fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-id': nodeId } });
        const body = await res.text();
        assert.equal(res.status, 200, body);
        assert.equal(res.headers.get('x-berth-node-id'), nodeId);
        return JSON.parse(body).instance as string;
      }),
    );
    assert.equal(new Set(answers).size, 1, 'one instance woke and answered the held calls');
    await expectCount('Woken events', () => events(t!.http, nodeId, 'Woken').then((e) => e.length), 1);
    await expectCount('wakes measured', () => wakeSamples(t!.http, nodeId), 1);
    await waitFor('the wake in the status', async () => (await getNode(t!.http, nodeId)).status.lastWakeDuration !== undefined);
    await waitAsleep(t!.http, nodeId);

    const alias = await rest(t!.http, 'POST', '/v1/aliases', { folderId: 'default', name: 'web', targets: [{ nodeId, weight: 100 }] });
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    const viaAlias = await fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-alias': 'web', 'x-folder-id': 'default' } });
    assert.equal(viaAlias.status, 200, await viaAlias.clone().text());
    assert.equal(viaAlias.headers.get('x-berth-node-id'), nodeId);
    await viaAlias.text();
    await expectCount('Woken events', () => events(t!.http, nodeId, 'Woken').then((e) => e.length), 2);
    await waitAsleep(t!.http, nodeId);
  });

  it('refuses calls to a node with min 0 whose start failed at once, without waking it', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const created = await rest(t!.http, 'POST', '/v1/nodes', { ...dockerNode('no-image'), spec: { ...dockerNode('no-image').spec, docker: { ...dockerNode('no-image').spec.docker, image: `berth-absent-${clusterId}:latest` } } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.done, true);
    assert.ok(op.body.error, 'the image is missing: the node fails');
    const nodeId = op.body.resourceId ?? (await rest(t!.http, 'GET', '/v1/nodes?folderId=default')).body.nodes.find((n: any) => n.name === 'no-image').id;
    const res = await fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-id': nodeId } });
    const body = (await res.json()) as any;
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.match(body.message, /has no healthy instance yet/);
    assert.equal(res.headers.get('retry-after'), null, 'not held: nothing would wake');
    assert.deepEqual(await events(t!.http, nodeId, 'Woken'), []);
  });

  it('answers calls to a node whose instance never becomes healthy with 503 and retry-after past the bound, and 429 beyond the held queue', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const nodeId = await createNode(dockerNode('never-healthy', { HEALTHY: 'false' }));
    await waitAsleep(t!.http, nodeId);
    const extra = 3;
    const calls = Promise.all(
      Array.from({ length: MAX_HELD + extra }, async () => {
        const res = await fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-id': nodeId } });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
      }),
    );
    // While they wait, /metrics counts the held calls: the queue's bound, not the ones refused beyond it.
    await waitFor(`${MAX_HELD} calls held`, async () => (await heldCalls(t!.http, nodeId)) === MAX_HELD);
    const results = await calls;
    assert.equal(await heldCalls(t!.http, nodeId), 0, 'no call held once all were answered');
    const byStatus = (status: number) => results.filter((r) => r.status === status);
    assert.equal(byStatus(503).length, MAX_HELD, JSON.stringify(results.map((r) => r.status)));
    assert.equal(byStatus(429).length, extra, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) {
      assert.equal(r.retryAfter, '5');
      assert.equal(r.body.code, r.status === 503 ? grpc.status.UNAVAILABLE : grpc.status.RESOURCE_EXHAUSTED);
    }
    // Waking, not failed: the node still says it starts an instance for the calls.
    const node = await getNode(t!.http, nodeId);
    assert.notEqual(node.status.state, 'NODE_STATE_UNHEALTHY', JSON.stringify(node.status));
    assert.match(node.status.reason, /^waking: /);
    assert.deepEqual([conditionOf(node, 'Asleep').status, conditionOf(node, 'Asleep').reason], [false, 'Waking']);
    // With no calls held any more, it goes back to sleep after its window.
    await waitAsleep(t!.http, nodeId);
  });

  it('gives a held place back when its node-API caller leaves: the next callers are held, not refused', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const nodeId = await createNode(dockerNode('never-healthy-left', { HEALTHY: 'false' }));
    await waitAsleep(t!.http, nodeId);
    const leaving = new AbortController();
    const left = Array.from({ length: MAX_HELD }, () =>
      fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-id': nodeId }, signal: leaving.signal }).then(
        () => 'answered',
        () => 'left',
      ),
    );
    await waitFor(`${MAX_HELD} calls held`, async () => (await heldCalls(t!.http, nodeId)) === MAX_HELD);
    leaving.abort();
    assert.deepEqual(new Set(await Promise.all(left)), new Set(['left']));
    // The places come back as the callers leave, well before the 15 s bound would have freed them.
    await waitFor('the held places given back', async () => (await heldCalls(t!.http, nodeId)) === 0, 10_000, 100);
    // A full queue's worth of new callers is held again: none is refused with 429.
    const next = Promise.all(
      Array.from({ length: MAX_HELD }, async () => (await fetch(`${nodeApi()}/whoami`, { headers: { 'x-node-id': nodeId } })).status),
    );
    await waitFor(`${MAX_HELD} new calls held`, async () => (await heldCalls(t!.http, nodeId)) === MAX_HELD);
    assert.deepEqual([...new Set(await next)], [503], 'held to the bound, then 503; none refused');
  });
});
