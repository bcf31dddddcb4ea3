/**
 * What the supervisor does about instances that fail, on the real Docker
 * engine with a real `berth serve`: a failed node is revived by UpdateNode and
 * by Resume; an instance that keeps exiting is restarted with growing
 * intervals; a node whose last instance dies turns Unhealthy within a second.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { buildTestImages, type TestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';

describe('supervision of failing instances on the real engine', () => {
  let images: TestImages;
  let serve: ServeProcess | undefined;
  let skip = false;
  const docker = new Dockerode();
  const clusterId = `sup${randomBytes(4).toString('hex')}`;
  const missingImage = `berth-test-later-${clusterId}:1`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-sup-'));
  const args = [
    '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
    '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
    '--startup-timeout-ms', '6000', '--pull-images', 'false',
  ];
  const http = () => `http://127.0.0.1:${serve!.httpPort}`;

  const httpNode = (name: string, image: string, over: Record<string, unknown> = {}, min = 1) => ({
    folderId: 'default',
    name,
    spec: {
      docker: {
        image,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
        ...over,
      },
      instanceRange: { min, max: min },
    },
  });

  async function create(body: unknown): Promise<{ nodeId: string; op: any }> {
    const created = await rest(http(), 'POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(http(), 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.status, 200);
    return { nodeId: created.body.resourceId, op: op.body };
  }

  const getNode = async (nodeId: string) => (await rest(http(), 'GET', `/v1/nodes/${nodeId}`)).body;
  const instances = async (nodeId: string): Promise<any[]> => (await rest(http(), 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    serve = await startServe(args);
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (!skip) {
      await removeByClusterId(clusterId);
      await docker.getImage(missingImage).remove().catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('revives a node whose create failed by UpdateNode to a working spec', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const { nodeId, op } = await create(httpNode('revive-update', images.http, { healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/status/500', interval: '0.3s', timeout: '1s' } }));
    assert.equal(op.error?.code, 9, `CreateNode failed: ${JSON.stringify(op)}`);
    assert.match(op.error.message, /no instance became healthy within 6s/);
    assert.equal((await getNode(nodeId)).status.state, 'NODE_STATE_UNHEALTHY');
    // Long after the first attempt's clock ran out: the new generation gets its own.
    const updated = await rest(http(), 'PATCH', `/v1/nodes/${nodeId}`, { spec: { docker: { healthCheck: { path: '/healthz' } } } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.generation, '2');
    const node = await waitFor('the updated node to be healthy', async () => {
      const n = await getNode(nodeId);
      return n.status.state === 'NODE_STATE_HEALTHY' ? n : undefined;
    });
    assert.match(node.status.reason, /1 healthy instance/);
    await sleep(7000);
    assert.equal((await getNode(nodeId)).status.state, 'NODE_STATE_HEALTHY', 'no stale verdict after the startup timeout');
  });

  it('revives a failed node by Suspend and Resume once its image exists, and the Resume succeeds', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const { nodeId, op } = await create(httpNode('revive-resume', missingImage));
    assert.equal(op.error?.code, 9, JSON.stringify(op));
    assert.match(op.error.message, /is not available/);
    const [repo, tag] = missingImage.split(':');
    await docker.getImage(images.http).tag({ repo: repo!, tag: tag! });
    const suspend = await rest(http(), 'POST', `/v1/nodes/${nodeId}:suspend`, {});
    const suspended = await rest(http(), 'POST', `/v1/operations/${suspend.body.id}:wait`, { timeout: '30s' });
    assert.equal(suspended.body.done, true, JSON.stringify(suspended.body));
    const resume = await rest(http(), 'POST', `/v1/nodes/${nodeId}:resume`, {});
    const resumed = await rest(http(), 'POST', `/v1/operations/${resume.body.id}:wait`, { timeout: '60s' });
    assert.equal(resumed.body.done, true, JSON.stringify(resumed.body));
    assert.equal(resumed.body.error, undefined, `the resume succeeded: ${JSON.stringify(resumed.body.error)}`);
    assert.equal(resumed.body.response.status.state, 'NODE_STATE_HEALTHY');
  });

  it('restarts an instance that keeps exiting with growing intervals, and says so in its reason', async (t) => {
    if (skip) return t.skip('no Docker engine');
    // The loop must outlast the short startup timeout of the other tests: the same data, a longer timeout.
    serve!.proc.kill('SIGTERM');
    await serve!.exited;
    serve = await startServe(args.map((a) => (a === '6000' ? '60000' : a)));
    // Each run serves (so the node reaches Healthy once) and exits after a while: a node that was
    // healthy keeps being restarted, where one that never was fails at its third crash in a row
    // (test/e2e/crash-loop.test.ts).
    const serveThenExit = "require('http').createServer((q, s) => s.end('ok')).listen(8080); setTimeout(() => process.exit(3), 1500)";
    const created = await rest(http(), 'POST', '/v1/nodes', httpNode('crashloop', images.http, { command: ['node', '-e', serveThenExit] }));
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const nodeId = created.body.resourceId;
    const starts: number[] = [];
    const reasons = new Set<string>();
    await waitFor(
      'five starts of the crash-looping instance',
      async () => {
        const [i] = await instances(nodeId);
        if (i?.startTime) {
          const at = Date.parse(i.startTime);
          if (!starts.includes(at)) starts.push(at);
        }
        if (i?.reason) reasons.add(i.reason);
        return starts.length >= 5;
      },
      45_000,
      50,
    );
    const gaps = starts.slice(1).map((at, k) => at - starts[k]!);
    const shown = gaps.map((g) => `${g} ms`).join(', ');
    // Restart n waits 0.5 s · 2^(n-1) after the exit; on top of that each gap holds the run's 1.5 s and
    // the time to see the exit and to start a container (about 1-2 s on a busy host), the same every time.
    t.diagnostic(`gaps between starts: ${shown}`);
    const backoff = [500, 1000, 2000, 4000];
    gaps.forEach((g, k) => assert.ok(g >= 0.9 * backoff[k]!, `gap ${k + 1} is at least its back-off (${shown})`));
    for (let k = 1; k < gaps.length; k++) assert.ok(gaps[k]! > gaps[k - 1]! + 200, `each gap is longer than the one before (${shown})`);
    assert.ok(gaps[3]! - gaps[0]! >= 2500, `the back-off grew by about 3.5 s from the first to the fourth restart (${shown})`);
    const told = [...reasons].join(' | ');
    assert.ok([...reasons].some((r) => /exit code 3; crash loop: restart \d+ waits 4 s after the exit/.test(r)), `the reason tells the back-off: ${told}`);
    const [i] = await instances(nodeId);
    assert.ok(Number(i.restartCount) >= 4);
    await rest(http(), 'DELETE', `/v1/nodes/${nodeId}`);
  });

  it('turns a node Unhealthy within 1 s of its last instance dying', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const { nodeId, op } = await create(httpNode('lose', images.http));
    assert.equal(op.error, undefined, JSON.stringify(op));
    const [victim] = await instances(nodeId);
    await sleep(500);
    const killedAt = Date.now();
    await docker.getContainer(victim.runtimeId).kill();
    const seenAt = await waitFor(
      'the node to be Unhealthy',
      async () => ((await getNode(nodeId)).status.state === 'NODE_STATE_UNHEALTHY' ? Date.now() : undefined),
      5000,
      50,
    );
    t.diagnostic(`Unhealthy ${seenAt - killedAt} ms after the kill`);
    assert.ok(seenAt - killedAt <= 1000, `Unhealthy ${seenAt - killedAt} ms after the kill`);
    const node = await waitFor('the node to be healthy again', async () => {
      const n = await getNode(nodeId);
      return n.status.state === 'NODE_STATE_HEALTHY' ? n : undefined;
    });
    assert.equal(node.status.instanceCounts.healthy ?? node.status.instanceCounts.HEALTHY ?? 1, 1);
    const [again] = await instances(nodeId);
    assert.equal(again.id, victim.id);
    assert.notEqual(again.runtimeId, victim.runtimeId);
  });
});
