/**
 * What Berth leaves on the Docker engine: nothing of a deleted node, whatever
 * state it was deleted in, and nothing of a node that no longer exists once
 * the orphan grace period is over — while the resources of nodes that exist,
 * and those of other clusters on the same engine, are never touched. A real
 * Berth (in this process) on the real engine and PostgreSQL; everything
 * carries this run's cluster id and is removed at the end.
 *
 *   BERTH_REQUIRE_DOCKER=1 BERTH_REQUIRE_POSTGRES=1 node scripts/run-tests.js test/e2e/node-networks.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime';
import { LABELS } from '../../src/runtime/docker/labels';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime';
import { readRecords } from '../../src/runtime/process/state-file';
import { buildTestImages, type TestImages } from '../images/test-images';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import path from 'node:path';
import { sleep, waitFor } from '../helpers/wait';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

function httpNode(name: string, image: string, healthPath = '/healthz') {
  return {
    folderId: 'default',
    name,
    spec: {
      docker: {
        image,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: healthPath, interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
      },
      instanceRange: { min: 1, max: 1 },
    },
  };
}

/** Starts a CreateNode and waits for its operation; returns the finished operation. */
async function create(http: string, body: unknown): Promise<any> {
  const created = await rest(http, 'POST', '/v1/nodes', body);
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const op = await rest(http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
  assert.equal(op.body.done, true, JSON.stringify(op.body));
  return op.body;
}

/** Names of the networks and containers of this cluster that carry the node's label. */
async function heldBy(clusterId: string, nodeId: string): Promise<{ networks: string[]; containers: string[] }> {
  const { networks, containers } = await listByClusterId(clusterId);
  return {
    networks: networks.filter((n) => n.Labels?.[LABELS.nodeId] === nodeId).map((n) => n.Name),
    containers: containers.filter((c) => c.Labels?.[LABELS.nodeId] === nodeId).map((c) => c.Names[0] ?? c.Id),
  };
}

describe('deleting Docker nodes leaves no network', () => {
  let skip = false;
  let berth: TestBerth | undefined;
  let images: TestImages;
  const clusterId = `gcd${randomBytes(4).toString('hex')}`;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    // The garbage collector waits an hour here: what is removed below, the delete path removed.
    berth = await startTestBerth('sqlite', {
      runtime: 'docker',
      clusterId,
      startupTimeoutMs: 8000,
      resyncMs: 1000,
      orphanGraceMs: 1000,
      gcIntervalMs: 3_600_000,
    });
    if (!berth) skip = true;
  });

  after(async () => {
    await berth?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  it('removes the network of a node that failed (image missing, health never passing) and of a suspended one', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const http = berth!.http;
    const [ghost, sick, napper] = await Promise.all([
      create(http, httpNode('ghost', 'berth-test-no-such-image:1')),
      create(http, httpNode('sick', images.http, '/status/500')),
      create(http, httpNode('napper', images.http)),
    ]);
    assert.match(ghost.error?.message ?? '', /is not available/);
    assert.match(sick.error?.message ?? '', /no instance became healthy/);
    assert.equal(napper.error, undefined, JSON.stringify(napper.error));

    const suspend = await rest(http, 'POST', `/v1/nodes/${napper.resourceId}:suspend`, {});
    assert.equal(suspend.status, 200, JSON.stringify(suspend.body));
    const suspended = await rest(http, 'POST', `/v1/operations/${suspend.body.id}:wait`, { timeout: '30s' });
    assert.equal(suspended.body.done, true, JSON.stringify(suspended.body));

    // Before the deletes: the failed and the suspended node have a network and no container.
    for (const nodeId of [sick.resourceId, napper.resourceId]) {
      const held = await waitFor(`node ${nodeId} to have no container`, async () => {
        const h = await heldBy(clusterId, nodeId);
        return h.containers.length === 0 ? h : undefined;
      });
      assert.equal(held.networks.length, 1, `node ${nodeId} has its network before the delete`);
    }

    for (const op of [ghost, sick, napper]) {
      const del = await rest(http, 'DELETE', `/v1/nodes/${op.resourceId}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      const done = await rest(http, 'POST', `/v1/operations/${del.body.id}:wait`, { timeout: '30s' });
      assert.equal(done.body.done, true);
      assert.equal(done.body.error, undefined);
    }
    await waitFor('no network or container of this cluster', async () => {
      const left = await listByClusterId(clusterId);
      return left.networks.length === 0 && left.containers.length === 0;
    }, 20_000);
  });
});

describe('garbage collection of resources that belong to no node', () => {
  let skip = false;
  let berth: TestBerth | undefined;
  let images: TestImages;
  const clusterId = `gco${randomBytes(4).toString('hex')}`;
  const otherCluster = `gcx${randomBytes(4).toString('hex')}`;
  const graceMs = 5000;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    // No periodic resync during the test: the supervisor's own orphan collection stays out of it.
    berth = await startTestBerth('postgres', { runtime: 'docker', clusterId, resyncMs: 600_000, orphanGraceMs: graceMs, gcIntervalMs: 500 });
    if (!berth) skip = true;
  });

  after(async () => {
    await berth?.close();
    if (!skip) {
      await removeByClusterId(clusterId);
      await removeByClusterId(otherCluster);
    }
  });

  it('collects containers and networks of no node once past the grace period, and nothing else', async (t) => {
    if (skip) return t.skip('no Docker engine or PostgreSQL');
    const keeper = await create(berth!.http, httpNode('keeper', images.http));
    assert.equal(keeper.error, undefined, JSON.stringify(keeper.error));
    const keeperHeld = await heldBy(clusterId, keeper.resourceId);
    assert.equal(keeperHeld.containers.length, 1);
    assert.equal(keeperHeld.networks.length, 1);

    // What a crash or an earlier version could leave: a running container with its network,
    // and a network alone, of nodes the database does not know; and another cluster's network.
    const stray = new DockerRuntime({ runId: clusterId, logger, pullMissing: false });
    const orphanWithContainer = `ndorphanrun${clusterId}`;
    const orphanNetworkOnly = `ndorphannet${clusterId}`;
    await stray.startInstance({
      folderId: 'default',
      nodeId: orphanWithContainer,
      instanceId: `inorphan${clusterId}`,
      generation: 1,
      image: images.http,
      command: [],
      args: [],
      env: {},
      ports: [8080],
      cpu: 0,
      memoryBytes: 0,
    });
    await stray.ensureNetwork(orphanNetworkOnly);
    const foreign = new DockerRuntime({ runId: otherCluster, logger, pullMissing: false });
    await foreign.ensureNetwork(`ndforeign${otherCluster}`);
    const createdAt = Date.now();

    // Passes run every 0.5 s, but nothing younger than the grace period is taken.
    await sleep(1500);
    assert.ok(Date.now() - createdAt < graceMs - 1000, 'still within the grace period');
    assert.equal((await heldBy(clusterId, orphanWithContainer)).containers.length, 1, 'a young orphan container is kept');
    assert.equal((await heldBy(clusterId, orphanNetworkOnly)).networks.length, 1, 'a young orphan network is kept');

    await waitFor('the orphans to be collected', async () => {
      const a = await heldBy(clusterId, orphanWithContainer);
      const b = await heldBy(clusterId, orphanNetworkOnly);
      return a.containers.length + a.networks.length + b.networks.length === 0;
    }, 30_000);
    assert.ok(Date.now() - createdAt >= graceMs, 'collected only after the grace period');

    assert.deepEqual(await heldBy(clusterId, keeper.resourceId), keeperHeld, "the existing node's container and network are untouched");
    assert.equal((await listByClusterId(otherCluster)).networks.length, 1, "another cluster's network is untouched");
    const node = await rest(berth!.http, 'GET', `/v1/nodes/${keeper.resourceId}`);
    assert.equal(node.body.status.state, 'NODE_STATE_HEALTHY');
  });
});

describe('garbage collection under the process runtime', () => {
  let berth: TestBerth | undefined;
  const clusterId = `gcp${randomBytes(4).toString('hex')}`;

  before(async () => {
    berth = await startTestBerth('sqlite', { runtime: 'process', clusterId, resyncMs: 60_000, orphanGraceMs: 2000, gcIntervalMs: 500 });
  });

  after(async () => {
    await berth?.close();
  });

  it('stops the process and removes the state file of an instance of no node after the grace period', async () => {
    const stateDir = path.join(berth!.config.dataDir, 'processes');
    const stray = new ProcessRuntime({ stateDir, logDir: path.join(berth!.config.dataDir, 'logs'), runId: clusterId, logger });
    const other = new ProcessRuntime({ stateDir, logDir: path.join(berth!.config.dataDir, 'logs'), runId: `${clusterId}x`, logger });
    const spec = {
      folderId: 'default',
      generation: 1,
      image: '',
      command: ['sleep'],
      args: ['300'],
      env: {},
      ports: [],
      cpu: 0,
      memoryBytes: 0,
    };
    const orphan = await stray.startInstance({ ...spec, nodeId: 'ndghost', instanceId: 'inghost' });
    const foreign = await other.startInstance({ ...spec, nodeId: 'ndforeign', instanceId: 'inforeign' });
    try {
      await sleep(1000);
      assert.deepEqual((await stray.listInstances()).map((i) => i.state), ['running'], 'a young orphan is kept');
      await waitFor('the orphan process to be collected', async () => (await stray.listInstances()).length === 0, 20_000);
      const left = (await readRecords(stateDir)).records.map((r) => r.instanceId);
      assert.deepEqual(left, ['inforeign'], "another cluster's instance is untouched");
      assert.equal((await other.listInstances())[0]?.state, 'running');
      assert.throws(() => process.kill(Number(orphan.runtimeId), 0), /ESRCH/);
    } finally {
      await other.removeInstance(foreign.instanceId, 0);
      await stray.removeInstance(orphan.instanceId, 0);
    }
  });
});
