/**
 * Failures speak: a Docker node whose instances exit at once fails its
 * CreateNode at the third crash in a row of every instance — seconds, not the
 * startup timeout — and the error, the node's `InstancesCrashing` condition
 * and the instances' reasons carry the exit code and the container's last
 * output. On the real engine, with the FROM-scratch test image.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { sleep, waitFor } from '../helpers/wait';
import { buildTestImages, type TestImages } from '../images/test-images';

const LINE = 'db password missing: set DB_URL';

describe('a node whose instances crash at once', () => {
  let t: TestBerth | undefined;
  let images: TestImages;
  let skip = false;
  const clusterId = `crash${randomBytes(4).toString('hex')}`;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    // The default startup timeout: the failure must come from the crashes, not from the clock.
    t = await startTestBerth('sqlite', { runtime: 'docker', clusterId, pullImages: false, startupTimeoutMs: 120_000 });
  });

  after(async () => {
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  it('fails CreateNode in under 15 s with the exit code and the line the container printed', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const http = t!.http;
    const startedAt = Date.now();
    const created = await rest(http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'no-db',
      spec: {
        docker: {
          image: images.http,
          command: ['node', '-e', `console.log(${JSON.stringify(LINE)}); console.error('giving up'); process.exit(1)`],
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s' },
        },
        instanceRange: { min: 2, max: 2 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const nodeId: string = created.body.resourceId;

    // What the instances said along the way (they are removed once the node has failed).
    const reasons = new Set<string>();
    const op = await waitFor(
      'the CreateNode operation to be done',
      async () => {
        for (const i of (await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances ?? []) if (i.reason) reasons.add(i.reason);
        const got = await rest(http, 'GET', `/v1/operations/${created.body.id}`);
        return got.body.done ? got.body : undefined;
      },
      60_000,
      100,
    );
    const tookMs = Date.now() - startedAt;
    tc.diagnostic(`CreateNode failed after ${tookMs} ms: ${op.error?.message}`);
    assert.ok(op.error, JSON.stringify(op));
    assert.equal(op.error.code, 9, 'FAILED_PRECONDITION, as for every start that fails');
    assert.ok(tookMs < 15_000, `failed within 15 s (${tookMs} ms)`);
    assert.match(op.error.message, /exited 3 times in a row without becoming healthy/);
    assert.ok(op.error.message.includes('exit code 1'), op.error.message);
    assert.ok(op.error.message.includes(LINE), op.error.message);
    assert.ok(op.error.message.includes('giving up'), `stderr too: ${op.error.message}`);

    const node = (await rest(http, 'GET', `/v1/nodes/${nodeId}`)).body;
    assert.equal(node.status.state, 'NODE_STATE_UNHEALTHY');
    assert.ok(node.status.reason.includes(LINE), node.status.reason);
    const crashing = node.status.conditions.find((c: { type: string }) => c.type === 'InstancesCrashing');
    assert.ok(crashing, JSON.stringify(node.status.conditions));
    assert.equal(crashing.status, true);
    assert.equal(crashing.reason, 'CrashLoop');
    assert.ok(crashing.message.includes('exit code 1') && crashing.message.includes(LINE), crashing.message);

    const told = [...reasons].join(' || ');
    assert.ok([...reasons].some((r) => r.includes('exit code 1') && r.includes(`last output: ${LINE}`)), `an instance's reason quotes its output: ${told}`);

    // A failed node runs nothing, and stays failed: no more starts after the verdict.
    await waitFor('the failed node to have no containers', async () => (await listByClusterId(clusterId)).containers.length === 0, 10_000);
    await sleep(1000);
    assert.equal((await listByClusterId(clusterId)).containers.length, 0);
    assert.deepEqual((await rest(http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances ?? [], []);
  });
});
