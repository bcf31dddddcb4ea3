/**
 * Docker nodes end to end, as a user meets them: a real `berth serve` process
 * on the real Docker engine, images built locally, calls through the node API
 * on loopback. Everything is labelled with this run's cluster id and removed
 * at the end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import Dockerode from 'dockerode';
import { buildTestImages, type TestImages } from '../images/test-images';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';

const echoProto = loadSync(path.join(__dirname, '..', 'images', 'grpc-server', 'echo.proto'), { keepCase: true });
const EchoClient = grpc.makeClientConstructor(echoProto['berth.test.Echo'] as grpc.ServiceDefinition, 'Echo');

describe('Docker nodes on the real engine', () => {
  let images: TestImages;
  let serve: ServeProcess | undefined;
  let skip = false;
  const clusterId = `e2e${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
  const args = [
    '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
    '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
    '--startup-timeout-ms', '10000', '--resync-ms', '1000', '--pull-images', 'false',
  ];
  let http = '';
  let nodeApi = '';
  const nodes: Record<string, string> = {};

  const httpNode = (name: string, image: string, healthPath = '/healthz') => ({
    folderId: 'default',
    name,
    spec: {
      docker: {
        image,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: healthPath, interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
      },
      instanceRange: { min: 2, max: 4 },
      configuration: { cpu: 0.5, memoryBytes: String(128 * 1024 * 1024) },
    },
  });

  async function createAndWait(body: unknown): Promise<any> {
    const created = await rest(http, 'POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.status, 200);
    return op.body;
  }

  async function instances(nodeId: string): Promise<any[]> {
    return (await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances;
  }

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    serve = await startServe(args);
    http = `http://127.0.0.1:${serve.httpPort}`;
    nodeApi = `http://127.0.0.1:${serve.nodeApiPort}`;
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs an HTTP image as a healthy node whose instances both get calls', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const op = await createAndWait(httpNode('web', images.http));
    assert.equal(op.done, true, JSON.stringify(op));
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    assert.equal(op.response['@type'], 'type.googleapis.com/berth.v1.Node');
    assert.equal(op.response.status.state, 'NODE_STATE_HEALTHY');
    nodes.web = op.resourceId;
    const list = await instances(nodes.web!);
    assert.equal(list.length, 2);
    for (const i of list) {
      assert.equal(i.state, 'INSTANCE_STATE_HEALTHY');
      assert.match(i.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(i.lastHealthCheck.passed, true);
    }
    const node = await rest(http, 'GET', `/v1/nodes/${nodes.web}`);
    assert.equal(node.body.status.instanceCounts.healthy, 2);
    assert.ok(node.body.status.timeToHealthy, 'time to healthy is reported');

    const seen = new Set<string>();
    for (let n = 0; n < 40; n++) {
      const res = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': nodes.web! } });
      assert.equal(res.status, 200);
      const { instance } = (await res.json()) as any;
      seen.add(instance);
      // Who answered, as Berth saw it.
      assert.equal(res.headers.get('x-berth-node-id'), nodes.web);
      assert.equal(res.headers.get('x-berth-instance-id'), instance);
    }
    assert.deepEqual([...seen].sort(), list.map((i) => i.id).sort(), 'calls reach both instances');

    const echo = await fetch(`${nodeApi}/echo`, { method: 'POST', headers: { 'x-node-id': nodes.web!, 'content-type': 'text/plain' }, body: 'hello berth' });
    assert.equal(await echo.text(), 'hello berth');
    assert.equal(echo.headers.get('x-echo-len'), '11');
    assert.equal((await fetch(`${nodeApi}/status/418`, { headers: { 'x-node-id': nodes.web! } })).status, 418);
    const unknown = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': 'nd000000000000000000' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('x-berth-instance-id'), null, "Berth's own refusal names no instance");

    // Container limits and labels are applied, ports published on loopback only.
    const docker = new Dockerode();
    const info = await docker.getContainer(list[0].runtimeId).inspect();
    assert.equal(info.HostConfig.Memory, 128 * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, 0.5e9);
    assert.equal(info.HostConfig.Privileged, false);
    assert.equal(info.Config.Labels['berth.node_id'], nodes.web);
    for (const bindings of Object.values(info.HostConfig.PortBindings ?? {})) for (const b of bindings as any[]) assert.equal(b.HostIp, '127.0.0.1');
  });

  it('proxies gRPC unary and server-streaming calls with codes and trailers intact', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const op = await createAndWait({
      folderId: 'default',
      name: 'echo',
      spec: {
        docker: {
          image: images.grpc,
          endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '0.3s' },
        },
        instanceRange: { min: 1, max: 2 },
      },
    });
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    nodes.echo = op.resourceId;
    const client = new EchoClient(`127.0.0.1:${serve!.nodeApiPort}`, grpc.credentials.createInsecure()) as any;
    try {
      const md = new grpc.Metadata();
      md.set('x-node-id', nodes.echo!);
      md.set('x-test', 'abc');
      let headers: grpc.Metadata | undefined;
      let trailers: grpc.Metadata | undefined;
      const reply: any = await new Promise((resolve, reject) => {
        const call = client.Echo({ message: 'hi' }, md, (err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)));
        call.on('metadata', (m: grpc.Metadata) => (headers = m));
        call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
      });
      assert.equal(reply.message, 'hi');
      assert.equal(headers?.get('x-test')[0], 'abc');
      assert.deepEqual(headers?.get('x-berth-node-id'), [nodes.echo]);
      assert.deepEqual(headers?.get('x-berth-instance-id'), [reply.instance]);
      assert.equal(trailers?.get('x-instance')[0], reply.instance);

      const failed: any = await new Promise((resolve) => client.Fail({ code: 5, message: 'nothing here' }, md, (err: unknown) => resolve(err)));
      assert.equal(failed.code, grpc.status.NOT_FOUND);
      assert.equal(failed.details, 'nothing here');

      const counts: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const stream = client.Count({ n: 5, interval_ms: 20 }, md);
        stream.on('data', (d: any) => counts.push(d.i));
        stream.on('error', reject);
        stream.on('end', resolve);
      });
      assert.deepEqual(counts, [0, 1, 2, 3, 4]);

      const noNode = new grpc.Metadata();
      noNode.set('x-node-id', 'nd000000000000000000');
      const missing: any = await new Promise((resolve) => client.Echo({ message: 'x' }, noNode, (err: unknown) => resolve(err)));
      assert.equal(missing.code, grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it('replaces a killed instance without failing a call', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const before = await instances(nodes.web!);
    const victim = before[0];
    let calls = 0;
    const failures: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        calls++;
        try {
          const res = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': nodes.web! } });
          if (res.status !== 200) failures.push(`HTTP ${res.status}: ${await res.text()}`);
          else await res.arrayBuffer();
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    let replaced: any;
    try {
      await sleep(300);
      await new Dockerode().getContainer(victim.runtimeId).kill();
      replaced = await waitFor('the killed instance to be healthy in a new container', async () => {
        const list = await instances(nodes.web!);
        const again = list.find((i) => i.id === victim.id);
        return list.length === 2 && list.every((i) => i.state === 'INSTANCE_STATE_HEALTHY') && again && again.runtimeId !== victim.runtimeId ? again : undefined;
      });
      await sleep(300);
    } finally {
      running = false;
      await load;
    }
    assert.equal(replaced.restartCount, 1);
    assert.ok(calls > 20, `a steady stream of calls ran (${calls})`);
    assert.deepEqual(failures, [], `no call failed out of ${calls}`);
    const node = await rest(http, 'GET', `/v1/nodes/${nodes.web}`);
    assert.equal(node.body.status.state, 'NODE_STATE_HEALTHY');
  });

  it('scales, rolls an env change over without failing a call, suspends and resumes', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const web = nodes.web!;
    const settled = (count: number, generation: string) =>
      waitFor(`${count} healthy instances of generation ${generation}`, async () => {
        const list = await instances(web);
        return list.length === count && list.every((i) => i.state === 'INSTANCE_STATE_HEALTHY' && i.generation === generation) ? list : undefined;
      });
    const scaled = await rest(http, 'PATCH', `/v1/nodes/${web}`, { spec: { instanceRange: { min: 3 } } });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.body));
    assert.equal(scaled.body.generation, '2');
    await settled(3, '2');

    let calls = 0;
    const failures: string[] = [];
    const versions = new Set<string>();
    let running = true;
    const load = (async () => {
      while (running) {
        calls++;
        try {
          const res = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': web } });
          if (res.status !== 200) failures.push(`HTTP ${res.status}: ${await res.text()}`);
          else versions.add(String(((await res.json()) as any).instance));
        } catch (err) {
          failures.push(String(err));
        }
      }
    })();
    let before: string[];
    let after: any[];
    try {
      before = (await instances(web)).map((i) => i.id);
      const rolled = await rest(http, 'PATCH', `/v1/nodes/${web}`, { spec: { docker: { env: { RELEASE: 'two' } } } });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      assert.equal(rolled.body.generation, '3');
      after = await settled(3, '3');
      await sleep(300);
    } finally {
      running = false;
      await load;
    }
    assert.equal(after.filter((i) => before.includes(i.id)).length, 0, 'every instance was replaced');
    assert.deepEqual(failures, [], `no call failed out of ${calls} during the rollout`);
    const info = await new Dockerode().getContainer(after[0].runtimeId).inspect();
    assert.ok(info.Config.Env.includes('RELEASE=two'));

    assert.equal((await rest(http, 'PATCH', `/v1/nodes/${web}`, { spec: { instanceRange: { min: 2 } } })).status, 200);
    await settled(2, '4');

    const suspend = await rest(http, 'POST', `/v1/nodes/${web}:suspend`, {});
    assert.equal(suspend.status, 200, JSON.stringify(suspend.body));
    const suspended = await rest(http, 'POST', `/v1/operations/${suspend.body.id}:wait`, { timeout: '30s' });
    assert.equal(suspended.body.done, true, JSON.stringify(suspended.body));
    assert.equal((await rest(http, 'GET', `/v1/nodes/${web}`)).body.status.state, 'NODE_STATE_SUSPENDED');
    assert.deepEqual(await instances(web), []);
    // Suspended is a state to act on, not an outage to retry: FAILED_PRECONDITION (400) naming it.
    const whileSuspended = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': web } });
    assert.equal(whileSuspended.status, 400);
    const suspendedBody = await whileSuspended.text();
    assert.match(suspendedBody, /is suspended/);
    assert.equal(JSON.parse(suspendedBody).code, 9, 'FAILED_PRECONDITION');
    const resume = await rest(http, 'POST', `/v1/nodes/${web}:resume`, {});
    const resumed = await rest(http, 'POST', `/v1/operations/${resume.body.id}:wait`, { timeout: '30s' });
    assert.equal(resumed.body.done, true);
    assert.equal(resumed.body.response.status.state, 'NODE_STATE_HEALTHY');
    await settled(2, '4');
  });

  it('adopts running containers after SIGKILL and a restart, then deletes nodes completely', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const containersBefore = (await listByClusterId(clusterId)).containers.map((c) => c.Id).sort();
    assert.equal(containersBefore.length, 3);
    serve!.proc.kill('SIGKILL');
    await serve!.exited;
    serve = await startServe(args);
    http = `http://127.0.0.1:${serve.httpPort}`;
    nodeApi = `http://127.0.0.1:${serve.nodeApiPort}`;
    // Past the orphan grace period: nothing was collected, nothing duplicated.
    await sleep(11_000);
    const containersAfter = (await listByClusterId(clusterId)).containers;
    assert.deepEqual(containersAfter.map((c) => c.Id).sort(), containersBefore, 'the same containers run');
    assert.ok(containersAfter.every((c) => c.State === 'running'));
    assert.ok(serve.logs.some((l) => l.msg === 'watching a running instance'));
    const res = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': nodes.web! } });
    assert.equal(res.status, 200);

    for (const nodeId of [nodes.web!, nodes.echo!]) {
      const del = await rest(http, 'DELETE', `/v1/nodes/${nodeId}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      const done = await rest(http, 'POST', `/v1/operations/${del.body.id}:wait`, { timeout: '30s' });
      assert.equal(done.body.done, true);
      assert.equal(done.body.error, undefined);
      assert.equal((await rest(http, 'GET', `/v1/nodes/${nodeId}`)).status, 404);
    }
    const left = await listByClusterId(clusterId);
    assert.deepEqual(left.containers.map((c) => c.Names), []);
    assert.deepEqual(left.networks.map((n) => n.Name), []);
  });

  it('fails the operation of a node whose image is missing or whose health check never passes, leaving nothing running', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const missing = await createAndWait(httpNode('ghost', 'berth-test-no-such-image:1'));
    assert.equal(missing.done, true);
    assert.equal(missing.error.code, grpc.status.FAILED_PRECONDITION);
    assert.match(missing.error.message, /berth-test-no-such-image:1 is not available/);

    const sick = await createAndWait(httpNode('sick', images.http, '/status/500'));
    assert.equal(sick.done, true);
    assert.equal(sick.error.code, grpc.status.FAILED_PRECONDITION);
    assert.match(sick.error.message, /no instance became healthy within 10s.*HTTP 500 from \/status\/500/);
    const node = await rest(http, 'GET', `/v1/nodes/${sick.resourceId}`);
    assert.equal(node.body.status.state, 'NODE_STATE_UNHEALTHY');
    assert.match(node.body.status.reason, /no instance became healthy/);
    await waitFor('the failed node to have no containers', async () => (await listByClusterId(clusterId)).containers.length === 0);
    assert.deepEqual(await instances(sick.resourceId), []);
  });
});

describe('autoscaling on the real engine', () => {
  let serve: ServeProcess | undefined;
  let skip = false;
  const clusterId = `e2s${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-e2s-'));

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    await buildTestImages();
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir,
      '--runtime', 'docker', '--cluster-id', clusterId, '--pull-images', 'false', '--resync-ms', '1000',
    ]);
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('scales a node up under sustained concurrent load and back down to min after it stops', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const images = await buildTestImages();
    const http = `http://127.0.0.1:${serve!.httpPort}`;
    const nodeApi = `http://127.0.0.1:${serve!.nodeApiPort}`;
    const created = await rest(http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'elastic',
      spec: {
        docker: {
          image: images.http,
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { path: '/healthz', interval: '0.3s' },
        },
        instanceRange: { min: 1, max: 4 },
        autoscaling: { targetInFlight: 1, scaleDownStabilization: '3s' },
      },
    });
    const op = await rest(http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.error, undefined, JSON.stringify(op.body));
    const nodeId: string = created.body.resourceId;
    const healthyCount = async () => (await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body.status.instanceCounts.healthy as number;
    assert.equal(await healthyCount(), 1);

    let running = true;
    const failures: string[] = [];
    const callers = Array.from({ length: 6 }, async () => {
      while (running) {
        const res = await fetch(`${nodeApi}/slow?ms=500`, { headers: { 'x-node-id': nodeId } }).catch((err: Error) => err);
        if (res instanceof Error) failures.push(res.message);
        else {
          if (res.status !== 200) failures.push(`HTTP ${res.status}`);
          await res.arrayBuffer();
        }
      }
    });
    let peak: number;
    let up: any;
    try {
      peak = await waitFor('the node to scale up', async () => ((await healthyCount()) >= 3 ? healthyCount() : undefined), 45_000);
      up = (await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body.status;
    } finally {
      running = false;
      await Promise.all(callers);
    }
    assert.match(up.lastScalingDecision, /scaled up [1-3] -> [2-4]: /);
    assert.ok(up.lastScalingTime);
    assert.deepEqual(failures, [], 'no call failed while scaling up');
    assert.ok(peak >= 3 && peak <= 4, `scaled to ${peak}`);

    await waitFor('the node to scale back down to 1', async () => {
      const status = (await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body.status;
      return status.desiredInstances === 1 && status.instanceCounts.healthy === 1 && (await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances.length === 1
        ? status
        : undefined;
    }, 45_000);
    const down = (await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body.status;
    assert.match(down.lastScalingDecision, /scaled down \d -> 1/);
  });
});
