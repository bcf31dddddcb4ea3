/**
 * Node networks on the real Docker engine: numbered from Berth's own pool, so
 * that one engine holds far more Docker nodes than Docker's default address
 * pools allow (about 30 networks), and removed whether or not the node ever
 * had a container. Everything carries this run's `berth.run_id` and is
 * removed at the end; no traffic goes to the networks.
 *
 *   BERTH_REQUIRE_DOCKER=1 node scripts/run-tests.js test/runtime/docker-networks.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import pino from 'pino';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime';
import { LABELS, networkName } from '../../src/runtime/docker/labels';
import { NodeNetworkPoolExhaustedError } from '../../src/runtime/docker/node-networks';
import { DEFAULT_NODE_NETWORK_POOL, formatCidr, overlaps, parseCidr, parsePool } from '../../src/runtime/docker/subnet-pool';
import { buildTestImages } from '../images/test-images';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const docker = new Dockerode();

/** The subnet of a network, read back from the engine. */
async function subnetOf(id: string): Promise<string> {
  const info = await docker.getNetwork(id).inspect();
  const subnet = info.IPAM?.Config?.[0]?.Subnet;
  assert.ok(subnet, `network ${info.Name} has a subnet`);
  return subnet;
}

/** The networks of this run, by node id. */
async function networksByNode(clusterId: string): Promise<Map<string, Dockerode.NetworkInspectInfo[]>> {
  const byNode = new Map<string, Dockerode.NetworkInspectInfo[]>();
  for (const n of (await listByClusterId(clusterId)).networks) {
    const nodeId = n.Labels?.[LABELS.nodeId] ?? '';
    byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), n]);
  }
  return byNode;
}

describe('node networks on the real engine', () => {
  let skip = false;
  const clusterId = `net${randomBytes(4).toString('hex')}`;
  const runtime = new DockerRuntime({ runId: clusterId, logger, pullMissing: false });

  before(async () => {
    skip = !(await dockerAvailable());
  });

  after(async () => {
    if (!skip) await removeByClusterId(clusterId);
  });

  it('holds 45 node networks at once on one engine, each on its own /25 of the pool, and removes them all', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const pool = parsePool(DEFAULT_NODE_NETWORK_POOL);
    const nodes = Array.from({ length: 45 }, (_, i) => `ndmany${clusterId}${String(i).padStart(2, '0')}`);
    // All at once, as a supervisor starting many nodes would.
    const ids = await Promise.all(nodes.map((n) => runtime.ensureNetwork(n)));
    assert.equal(new Set(ids).size, 45);

    const byNode = await networksByNode(clusterId);
    const subnets: string[] = [];
    for (const nodeId of nodes) {
      const networks = byNode.get(nodeId) ?? [];
      assert.equal(networks.length, 1, `node ${nodeId} has exactly one network`);
      assert.equal(networks[0]!.Name, networkName(nodeId));
      const subnet = await subnetOf(networks[0]!.Id);
      const cidr = parseCidr(subnet);
      assert.ok(cidr && cidr.prefix === 25 && overlaps(cidr, pool), `${subnet} is a /25 of ${DEFAULT_NODE_NETWORK_POOL}`);
      subnets.push(subnet);
    }
    assert.equal(new Set(subnets).size, 45, 'no two nodes share a subnet');

    // Ensuring again finds the same network: no second one, no new subnet.
    assert.equal(await runtime.ensureNetwork(nodes[0]!), ids[0]);

    await Promise.all(nodes.map((n) => runtime.removeNodeResources(n)));
    assert.deepEqual((await listByClusterId(clusterId)).networks.map((n) => n.Name), []);
  });

  it('gives each node one network and one subnet when two Berth processes create them at once', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const other = new DockerRuntime({ runId: clusterId, logger, pullMissing: false });
    const nodes = Array.from({ length: 12 }, (_, i) => `ndrace${clusterId}${String(i).padStart(2, '0')}`);
    const [mine, theirs] = await Promise.all([
      Promise.all(nodes.map((n) => runtime.ensureNetwork(n))),
      Promise.all(nodes.map((n) => other.ensureNetwork(n))),
    ]);
    const byNode = await networksByNode(clusterId);
    const subnets = new Set<string>();
    for (const [i, nodeId] of nodes.entries()) {
      const networks = byNode.get(nodeId) ?? [];
      assert.equal(networks.length, 1, `node ${nodeId} has exactly one network`);
      assert.equal(mine[i], networks[0]!.Id);
      assert.equal(theirs[i], networks[0]!.Id);
      subnets.add(await subnetOf(networks[0]!.Id));
    }
    assert.equal(subnets.size, nodes.length);
    await Promise.all(nodes.map((n) => runtime.removeNodeResources(n)));
  });

  it('skips subnets other networks hold, and says so when the pool is full', async (t) => {
    if (skip) return t.skip('no Docker engine');
    // A /23 holds four node subnets; a random one keeps parallel runs apart.
    const poolText = `10.${randomInt(240, 250)}.${randomInt(0, 128) * 2}.0/23`;
    const pool = parsePool(poolText);
    const small = new DockerRuntime({ runId: clusterId, logger, pullMissing: false, nodeNetworkPool: poolText });
    // Someone else's network (not a node network) on the pool's second /25.
    const foreignSubnet = formatCidr({ base: pool.base + 128, prefix: 25 });
    const foreign = await docker.createNetwork({
      Name: `berth-test-foreign-${clusterId}`,
      IPAM: { Driver: 'default', Config: [{ Subnet: foreignSubnet }] },
      Labels: { [LABELS.runId]: clusterId },
    });
    try {
      const nodes = ['a', 'b', 'c'].map((s) => `ndsmall${clusterId}${s}`);
      const subnets = [];
      for (const n of nodes) subnets.push(await subnetOf(await small.ensureNetwork(n)));
      assert.ok(!subnets.includes(foreignSubnet), `${subnets.join(', ')} avoid ${foreignSubnet}`);
      assert.equal(new Set(subnets).size, 3);
      for (const s of subnets) assert.ok(overlaps(parseCidr(s)!, pool), `${s} is in ${poolText}`);

      await assert.rejects(small.ensureNetwork(`ndsmall${clusterId}d`), (err: unknown) => {
        assert.ok(err instanceof NodeNetworkPoolExhaustedError);
        assert.match(err.message, new RegExp(`pool ${poolText.replace(/\./g, '\\.')} has no free subnet left.*--node-network-pool`));
        return true;
      });
      for (const n of nodes) await small.removeNodeResources(n);
    } finally {
      await foreign.remove();
    }
  });

  it("removes a node's network whether or not it ever had a container, and lists what each node holds", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const images = await buildTestImages();
    const bare = `ndbare${clusterId}`;
    const busy = `ndbusy${clusterId}`;
    await runtime.ensureNetwork(bare);
    const started = await runtime.startInstance({
      folderId: 'default',
      nodeId: busy,
      instanceId: `in${clusterId}`,
      generation: 1,
      image: images.http,
      command: [],
      args: [],
      env: {},
      ports: [8080],
      cpu: 0,
      memoryBytes: 0,
    });
    const held = await runtime.listHeld();
    const summary = held.map((h) => `${h.kind}:${h.nodeId}`).sort();
    assert.deepEqual(summary, [`instance:${busy}`, `node-resource:${bare}`, `node-resource:${busy}`]);
    for (const h of held) assert.ok(Math.abs(Date.now() - h.createdAt.getTime()) < 60_000, `${h.kind} ${h.id} has its creation time`);

    await runtime.removeNodeResources(bare);
    await runtime.removeInstance(started.instanceId, 0);
    await runtime.removeNodeResources(busy);
    // Again: nothing left is success.
    await runtime.removeNodeResources(bare);
    const left = await listByClusterId(clusterId);
    assert.deepEqual([...left.networks.map((n) => n.Name), ...left.containers.map((c) => c.Names[0])], []);
  });
});
