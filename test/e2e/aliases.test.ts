/**
 * Aliases end to end, as a releasing user meets them: a real `berth serve`
 * process, two nodes behind one alias split 80/20, thousands of calls through
 * the alias to measure the split, then a steady load while the alias is
 * switched back and forth (and, on Docker, while one target rolls over to a
 * new generation) — with not one failed call. Once with checkpoint nodes on
 * the process runtime (ExecuteAlias over REST and gRPC), once with Docker
 * nodes called through the node API with `x-node-alias`. Loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { AliasExecutionRequest, AliasExecutionResponse } from '../../gen/berth/v1/node_service';
import { buildTestImages, type TestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';
import { endProcessInstances } from '../helpers/process-instances';

/** Calls measured for the split. */
const SPLIT_CALLS = 5000;
/** Concurrent callers while measuring the split. */
const SPLIT_CONCURRENCY = 16;
/** Allowed distance of the measured share from the weight, in percentage points. */
const SPLIT_TOLERANCE_PP = 2;
/** Alias switches under load. */
const SWITCHES = 20;
const SWITCH_INTERVAL_MS = 100;
/** Concurrent callers of the steady load. */
const LOAD_WORKERS = 8;
/** Time the data plane may take to see an alias change (its caches). */
const SETTLE_MS = 1500;

/** Runs `total` calls of `call(i)` with `concurrency` callers at a time. */
async function pool(total: number, concurrency: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await call(next++);
    }),
  );
}

/** One call of a steady load: when it started and ended, and which node answered. */
interface LoadRecord {
  start: number;
  end: number;
  node: string;
}

/**
 * Keeps `workers` callers calling until stopped; a call either returns the
 * node that answered or throws, which counts as a failure.
 */
function steadyLoad(workers: number, call: () => Promise<string>) {
  const records: LoadRecord[] = [];
  const failures: string[] = [];
  let running = true;
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (running) {
        const start = Date.now();
        try {
          const node = await call();
          records.push({ start, end: Date.now(), node });
        } catch (err) {
          failures.push(`${new Date(start).toISOString()} ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }),
  );
  return {
    records,
    failures,
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

/** Calls per node, and the share of `node` in percent. */
function split(counts: Map<string, number>, node: string): { total: number; share: number } {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return { total, share: (100 * (counts.get(node) ?? 0)) / total };
}

const targets = (a: string, wa: number, b: string, wb: number) => [
  { nodeId: a, weight: wa },
  { nodeId: b, weight: wb },
];

/**
 * Switches the alias `SWITCHES` times between all-to-`a` and all-to-`b`,
 * ending on `last`; returns when the last switch was answered.
 */
async function switchBackAndForth(http: string, aliasId: string, a: string, b: string, last: 'a' | 'b'): Promise<number> {
  let lastAnswered = 0;
  for (let i = 0; i < SWITCHES; i++) {
    // Count back from the end so that the last switch goes to `last`.
    const toA = (SWITCHES - 1 - i) % 2 === 0 ? last === 'a' : last !== 'a';
    const res = await rest(http, 'PATCH', `/v1/aliases/${aliasId}`, { targets: toA ? targets(a, 100, b, 0) : targets(a, 0, b, 100) });
    assert.equal(res.status, 200, `switch ${i + 1}: ${JSON.stringify(res.body)}`);
    assert.deepEqual(
      res.body.targets.map((t: any) => [t.nodeId, t.weight]),
      toA ? [[a, 100], [b, 0]] : [[a, 0], [b, 100]],
    );
    lastAnswered = Date.now();
    if (i < SWITCHES - 1) await sleep(SWITCH_INTERVAL_MS);
  }
  return lastAnswered;
}

/**
 * Keeps the tail of a `berth serve` process's stderr and log lines, so that a
 * failure can say what Berth said; `report()` is empty while it runs.
 */
function watch(serve: ServeProcess) {
  let stderr = '';
  let exit: string | undefined;
  serve.proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
  serve.proc.on('exit', (code, signal) => (exit ??= `exited with ${code ?? signal}`));
  return {
    /** Why Berth is gone, with the tail of what it wrote; '' while it runs. */
    report(): string {
      if (!exit) return '';
      const errors = serve.logs.filter((l) => l.level >= 50).slice(-5).map((l) => JSON.stringify(l));
      return `\nberth serve ${exit}\n${stderr}\n${errors.join('\n')}`;
    },
  };
}

describe('aliases in front of checkpoint nodes (process runtime)', () => {
  const clusterId = `eal${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-alias-e2e-'));
  let serve: ServeProcess | undefined;
  let berth: ReturnType<typeof watch> | undefined;
  let rpc: ReturnType<typeof clients> | undefined;
  let http = '';
  const nodes: { a: string; b: string } = { a: '', b: '' };
  let aliasId = '';

  async function wait(operationId: string, timeout = '60s'): Promise<any> {
    const op = await rest(http, 'POST', `/v1/operations/${operationId}:wait`, { timeout });
    assert.equal(op.status, 200, JSON.stringify(op.body));
    assert.equal(op.body.done, true, `operation ${operationId} is not done: ${JSON.stringify(op.body)}`);
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    return op.body;
  }

  /** A checkpoint whose served cell answers `out = tag`, and a healthy one-instance node from it. */
  async function tagNode(tag: string): Promise<string> {
    const cp = await rest(http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: `tag-${tag}`,
      cells: { cells: [`tag = '${tag}'`, 'out = tag'] },
      servedCellIndex: 1,
    });
    assert.equal(cp.status, 200, JSON.stringify(cp.body));
    const checkpointId = (await wait(cp.body.id)).response.id as string;
    const created = await rest(http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: `node-${tag}`,
      spec: {
        checkpoint: {
          checkpointId,
          inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }],
          outputVariables: [{ name: 'out', type: 'VARIABLE_TYPE_STR' }],
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await wait(created.body.id);
    assert.equal(op.response.status.state, 'NODE_STATE_HEALTHY');
    return op.resourceId as string;
  }

  /** One REST ExecuteAlias call that must succeed; returns the node that answered (checked against its output). */
  async function executeAlias(x: number): Promise<string> {
    const res = await rest(http, 'POST', '/v1/aliases/prod:execute', { folderId: 'default', input: { x } });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    const { nodeId, output } = res.body;
    const expected = nodeId === nodes.a ? 'a' : nodeId === nodes.b ? 'b' : undefined;
    if (!expected || output?.out !== expected) throw new Error(`unexpected answer ${JSON.stringify(res.body)}`);
    return nodeId;
  }

  before(async () => {
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'process', '--cluster-id', clusterId, '--pull-images', 'false',
      '--resync-ms', '1000', '--startup-timeout-ms', '30000',
    ]);
    berth = watch(serve);
    http = `http://127.0.0.1:${serve.httpPort}`;
    rpc = clients(`127.0.0.1:${serve.grpcPort}`);
  });

  after(async () => {
    const crashed = berth?.report();
    if (crashed) console.log(crashed);
    rpc?.close();
    serve?.proc.kill('SIGKILL');
    if (serve) await serve.exited;
    endProcessInstances(dataDir);
    if (await dockerAvailable().catch(() => false)) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('splits ExecuteAlias calls 80/20 by weight, over REST and gRPC', async () => {
    [nodes.a, nodes.b] = await Promise.all([tagNode('a'), tagNode('b')]);
    const created = await rest(http, 'POST', '/v1/aliases', { folderId: 'default', name: 'prod', targets: targets(nodes.a, 80, nodes.b, 20) });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    aliasId = created.body.id;

    const counts = new Map<string, number>();
    const failures: string[] = [];
    const started = Date.now();
    await pool(SPLIT_CALLS, SPLIT_CONCURRENCY, async (i) => {
      try {
        const node = await executeAlias(i);
        counts.set(node, (counts.get(node) ?? 0) + 1);
      } catch (err) {
        failures.push((err as Error).message);
      }
    });
    const ms = Date.now() - started;
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${SPLIT_CALLS} calls failed${berth?.report() ?? ''}`);
    const { total, share } = split(counts, nodes.a);
    console.log(
      `process runtime: ExecuteAlias split over ${total} REST calls (${SPLIT_CONCURRENCY} at a time, ${ms} ms): ` +
        `a ${counts.get(nodes.a) ?? 0} (${share.toFixed(2)}%), b ${counts.get(nodes.b) ?? 0} (${(100 - share).toFixed(2)}%); weights 80/20`,
    );
    assert.equal(total, SPLIT_CALLS);
    assert.ok(Math.abs(share - 80) <= SPLIT_TOLERANCE_PP, `node a got ${share.toFixed(2)}% of the calls; 80 ± ${SPLIT_TOLERANCE_PP} expected`);

    // The same call over gRPC, with the generated client.
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const res = await unary<AliasExecutionRequest, AliasExecutionResponse>(rpc!.nodes, 'executeAlias', { folderId: 'default', aliasName: 'prod', input: { x: i } });
      assert.ok(res.nodeId === nodes.a || res.nodeId === nodes.b, JSON.stringify(res));
      assert.deepEqual(res.output, { out: res.nodeId === nodes.a ? 'a' : 'b' });
      seen.add(res.nodeId);
    }
    assert.ok(seen.has(nodes.a), 'gRPC calls reach the 80% target');
    const missing = await unary<AliasExecutionRequest, AliasExecutionResponse>(rpc!.nodes, 'executeAlias', {
      folderId: 'default',
      aliasName: 'no-such-alias',
      input: { x: 1 },
    }).then(
      (res) => assert.fail(`an unknown alias answered ${JSON.stringify(res)}`),
      (err: grpc.ServiceError) => err,
    );
    assert.equal(missing.code, grpc.status.NOT_FOUND, missing.message);
    assert.match(missing.message, /no-such-alias/);
  });

  it('fails no call while the alias is switched back and forth under load, then sends calls only to the new target', async () => {
    assert.ok(aliasId, 'the alias exists');
    let x = 0;
    const load = steadyLoad(LOAD_WORKERS, () => executeAlias(x++));
    let switchesStart = 0;
    let lastSwitch: Awaited<ReturnType<typeof switchBackAndForth>>;
    try {
      await sleep(300);
      switchesStart = Date.now();
      lastSwitch = await switchBackAndForth(http, aliasId, nodes.a, nodes.b, 'b');
      await sleep(SETTLE_MS + 1000);
    } finally {
      await load.stop();
    }

    const during = load.records.filter((r) => r.start >= switchesStart && r.start <= lastSwitch);
    const settled = load.records.filter((r) => r.start > lastSwitch + SETTLE_MS);
    const wrong = settled.filter((r) => r.node !== nodes.b);
    console.log(
      `process runtime: ${load.records.length + load.failures.length} calls under load, ${load.failures.length} failed; ` +
        `${during.length} during ${SWITCHES} switches (a ${during.filter((r) => r.node === nodes.a).length}, b ${during.filter((r) => r.node === nodes.b).length}); ` +
        `${settled.length} after the last switch settled, ${wrong.length} of them not on the new target`,
    );
    assert.deepEqual(load.failures.slice(0, 5), [], `${load.failures.length} calls failed during the switches${berth?.report() ?? ''}`);
    assert.ok(during.some((r) => r.node === nodes.a) && during.some((r) => r.node === nodes.b), 'the switches moved calls between both targets');
    assert.ok(settled.length > 20, `calls ran after the last switch (${settled.length})`);
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} calls after the last switch went to the old target`);
  });

  it('refuses to delete a node an alias points to, naming the alias', async () => {
    for (const nodeId of [nodes.a, nodes.b]) {
      const del = await rest(http, 'DELETE', `/v1/nodes/${nodeId}`);
      assert.equal(del.status, 400, JSON.stringify(del.body));
      assert.equal(del.body.code, grpc.status.FAILED_PRECONDITION);
      assert.match(del.body.message, /alias "prod"/);
      assert.equal((await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body.status.state, 'NODE_STATE_HEALTHY', 'the refused node still serves');
    }
    // Out of the alias, the node can go.
    const moved = await rest(http, 'PATCH', `/v1/aliases/${aliasId}`, { targets: [{ nodeId: nodes.a, weight: 100 }] });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const del = await rest(http, 'DELETE', `/v1/nodes/${nodes.b}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    await wait(del.body.id, '30s');
    assert.equal((await rest(http, 'GET', `/v1/nodes/${nodes.b}`)).status, 404);
    assert.equal(await executeAlias(1), nodes.a);
  });
});

describe('aliases in front of Docker nodes (node API)', () => {
  const clusterId = `ead${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-alias-e2d-'));
  let serve: ServeProcess | undefined;
  let berth: ReturnType<typeof watch> | undefined;
  let skip = false;
  let images: TestImages;
  let http = '';
  let nodeApi = '';
  const nodes: { a: string; b: string } = { a: '', b: '' };
  let aliasId = '';

  const webNode = (name: string) => ({
    folderId: 'default',
    name,
    spec: {
      docker: {
        image: images.http,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
      },
      instanceRange: { min: 1, max: 1 },
    },
  });

  async function instances(nodeId: string): Promise<any[]> {
    const res = await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.instances ?? [];
  }

  /** One call of `/whoami` through the alias that must succeed; returns the instance that answered. */
  async function whoami(alias = 'web'): Promise<string> {
    const res = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-alias': alias, 'x-folder-id': 'default' } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text}`);
    return String(JSON.parse(text).instance);
  }

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId, '--pull-images', 'false',
      '--resync-ms', '1000', '--startup-timeout-ms', '30000',
    ]);
    berth = watch(serve);
    http = `http://127.0.0.1:${serve.httpPort}`;
    nodeApi = `http://127.0.0.1:${serve.nodeApiPort}`;
  });

  after(async () => {
    const crashed = berth?.report();
    if (crashed) console.log(crashed);
    serve?.proc.kill('SIGKILL');
    if (serve) await serve.exited;
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('splits node-API calls through x-node-alias 80/20 by weight', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const create = async (name: string): Promise<string> => {
      const created = await rest(http, 'POST', '/v1/nodes', webNode(name));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const op = await rest(http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
      assert.equal(op.body.done, true, JSON.stringify(op.body));
      assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
      assert.equal(op.body.response.status.state, 'NODE_STATE_HEALTHY');
      return op.body.resourceId;
    };
    [nodes.a, nodes.b] = await Promise.all([create('web-a'), create('web-b')]);
    const created = await rest(http, 'POST', '/v1/aliases', { folderId: 'default', name: 'web', targets: targets(nodes.a, 80, nodes.b, 20) });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    aliasId = created.body.id;

    const nodeOf = new Map<string, string>();
    for (const nodeId of [nodes.a, nodes.b]) for (const i of await instances(nodeId)) nodeOf.set(i.id, nodeId);
    assert.equal(nodeOf.size, 2, 'one instance per node');

    const counts = new Map<string, number>();
    const failures: string[] = [];
    const started = Date.now();
    await pool(SPLIT_CALLS, SPLIT_CONCURRENCY, async () => {
      try {
        const instance = await whoami();
        const node = nodeOf.get(instance);
        if (!node) throw new Error(`instance ${instance} belongs to neither node`);
        counts.set(node, (counts.get(node) ?? 0) + 1);
      } catch (err) {
        failures.push((err as Error).message);
      }
    });
    const ms = Date.now() - started;
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${SPLIT_CALLS} calls failed${berth?.report() ?? ''}`);
    const { total, share } = split(counts, nodes.a);
    console.log(
      `docker runtime: node-API split over ${total} calls with x-node-alias (${SPLIT_CONCURRENCY} at a time, ${ms} ms): ` +
        `web-a ${counts.get(nodes.a) ?? 0} (${share.toFixed(2)}%), web-b ${counts.get(nodes.b) ?? 0} (${(100 - share).toFixed(2)}%); weights 80/20`,
    );
    assert.equal(total, SPLIT_CALLS);
    assert.ok(Math.abs(share - 80) <= SPLIT_TOLERANCE_PP, `web-a got ${share.toFixed(2)}% of the calls; 80 ± ${SPLIT_TOLERANCE_PP} expected`);

    const unknown = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-alias': 'no-such-alias', 'x-folder-id': 'default' } });
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /no-such-alias/);
  });

  it('fails no call while the alias is switched back and forth and one target rolls over to a new generation', async (t) => {
    if (skip) return t.skip('no Docker engine');
    assert.ok(aliasId, 'the alias exists');
    const [oldA] = await instances(nodes.a);
    const [onlyB] = await instances(nodes.b);
    assert.ok(oldA && onlyB);

    const load = steadyLoad(LOAD_WORKERS, () => whoami());
    let patchedAt = 0;
    let switchesStart = 0;
    let rolledAt = 0;
    let lastSwitch: Awaited<ReturnType<typeof switchBackAndForth>>;
    let newA: any;
    try {
      await sleep(300);
      patchedAt = Date.now();
      const rolled = await rest(http, 'PATCH', `/v1/nodes/${nodes.a}`, { spec: { docker: { env: { V: '2' } } } });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      const generation = String(rolled.body.generation);
      switchesStart = Date.now();
      // The last switch sends everything to web-a, the node rolling over.
      lastSwitch = await switchBackAndForth(http, aliasId, nodes.a, nodes.b, 'a');
      newA = await waitFor('web-a to run one healthy instance of the new generation', async () => {
        const list = await instances(nodes.a);
        return list.length === 1 && list[0].state === 'INSTANCE_STATE_HEALTHY' && String(list[0].generation) === generation && list[0].id !== oldA.id
          ? list[0]
          : undefined;
      });
      rolledAt = Date.now();
      await sleep(SETTLE_MS + 1000);
    } finally {
      await load.stop();
    }

    const nodeOf = new Map<string, string>([
      [oldA.id, 'web-a (old generation)'],
      [newA.id, 'web-a (new generation)'],
      [onlyB.id, 'web-b'],
    ]);
    const by = (records: LoadRecord[]) => {
      const counts: Record<string, number> = {};
      for (const r of records) {
        const name = nodeOf.get(r.node) ?? `unknown instance ${r.node}`;
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return counts;
    };
    const during = load.records.filter((r) => r.start >= switchesStart && r.start <= lastSwitch);
    const settled = load.records.filter((r) => r.start > Math.max(lastSwitch, rolledAt) + SETTLE_MS);
    console.log(
      `docker runtime: ${load.records.length + load.failures.length} calls under load, ${load.failures.length} failed; ` +
        `during ${SWITCHES} switches ${JSON.stringify(by(during))}; in all ${JSON.stringify(by(load.records))}; ` +
        `after the last switch and the rollout settled ${JSON.stringify(by(settled))}; the rollout was seen done ${rolledAt - patchedAt} ms after its PATCH`,
    );
    assert.deepEqual(load.failures.slice(0, 5), [], `${load.failures.length} calls failed during the switches and the rollout${berth?.report() ?? ''}`);
    const unknown = load.records.filter((r) => !nodeOf.has(r.node));
    assert.deepEqual(unknown.slice(0, 5), [], 'every answer came from a known instance');
    assert.ok(during.some((r) => r.node === onlyB.id), 'the switches sent calls to web-b');
    assert.ok(during.some((r) => r.node !== onlyB.id), 'the switches sent calls to web-a');
    assert.ok(load.records.some((r) => r.node === oldA.id && r.start >= switchesStart), 'the old instance of web-a served during the rollout');
    assert.ok(settled.length > 20, `calls ran after the last switch (${settled.length})`);
    assert.deepEqual(
      settled.filter((r) => r.node !== newA.id).slice(0, 5),
      [],
      'after the last switch and the rollout, calls reach only the new instance of web-a',
    );
    const node = await rest(http, 'GET', `/v1/nodes/${nodes.a}`);
    assert.equal(node.body.status.state, 'NODE_STATE_HEALTHY');
    const stillTarget = await rest(http, 'DELETE', `/v1/nodes/${nodes.b}`);
    assert.equal(stillTarget.status, 400, 'web-b is still a target (weight 0)');
    assert.equal(stillTarget.body.code, grpc.status.FAILED_PRECONDITION);
  });
});
