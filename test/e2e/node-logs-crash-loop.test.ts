/**
 * A crash-looping Docker node can be diagnosed through Berth: its events
 * show each exit with the code and the last lines, and its logs hold what
 * every run printed (stdout and stderr) — after the instances were replaced,
 * after the node failed and its instances were removed, and after a Berth
 * restart on the same database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';
import { buildTestImages, type TestImages } from '../images/test-images';

const LINE = 'db password missing: set DB_URL';

describe('logs and events of a crash-looping node', () => {
  let t: TestBerth | undefined;
  let images: TestImages;
  let skip = false;
  const clusterId = `crashlog${randomBytes(4).toString('hex')}`;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    t = await startTestBerth('sqlite', { runtime: 'docker', clusterId, pullImages: false, startupTimeoutMs: 120_000 });
  });

  after(async () => {
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  it('every exit is an event with its code and last lines, and every run’s output is kept, across a restart', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const created = await rest(t!.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'crashing',
      spec: {
        docker: {
          image: images.http,
          command: ['node', '-e', `console.log(${JSON.stringify(LINE)}); console.error('giving up'); process.exit(3)`],
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s' },
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const nodeId: string = created.body.resourceId;
    const done = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(done.body.done, true);
    assert.match(done.body.error?.message ?? '', /exit code 3/, JSON.stringify(done.body));
    // The failed node's instances are removed; what they said stays.
    await waitFor('the instances removed', async () => (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances?.length === 0, 30_000);

    const look = async () => {
      const events = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/events?page_size=1000`)).body.events as any[];
      const logs = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?page_size=1000`)).body.entries as any[];
      return { events, logs };
    };
    const before = await look();
    const exits = before.events.filter((e) => e.reason === 'InstanceExited');
    assert.ok(exits.length >= 3, `three exits or more: ${JSON.stringify(before.events.map((e) => e.reason))}`);
    for (const e of exits) {
      assert.equal(e.type, 'Warning');
      assert.match(e.message, /exit code 3/);
      assert.match(e.message, new RegExp(LINE));
      assert.match(e.message, /giving up/);
    }
    const reasons = before.events.map((e) => e.reason);
    for (const r of ['InstanceCreated', 'InstanceStarted', 'InstanceRestarted', 'InstanceRemoved', 'NodeStatus']) assert.ok(reasons.includes(r), `${r} in ${reasons}`);
    // Each run's output, on its own stream: as many runs as exits.
    const out = before.logs.filter((l) => l.stream === 'stdout' && l.text === LINE);
    const err = before.logs.filter((l) => l.stream === 'stderr' && l.text === 'giving up');
    assert.ok(out.length >= exits.length, `${out.length} stdout lines for ${exits.length} exits`);
    assert.ok(err.length >= exits.length, `${err.length} stderr lines for ${exits.length} exits`);
    // No line is stored twice: each run printed its lines once.
    const runs = new Set(before.logs.filter((l) => l.stream !== 'event').map((l) => `${l.instanceId}@${l.time}|${l.stream}|${l.text}`));
    assert.equal(runs.size, before.logs.filter((l) => l.stream !== 'event').length);
    // Events are lines of stream "event" too.
    assert.equal(before.logs.filter((l) => l.stream === 'event' && /InstanceExited/.test(l.text)).length, exits.length);

    await t!.restart();
    const later = await look();
    assert.deepEqual(
      later.logs.map((l) => l.id).slice(0, before.logs.length),
      before.logs.map((l) => l.id),
      'every line is still there after the restart',
    );
    assert.deepEqual(
      later.events.filter((e) => e.reason === 'InstanceExited').map((e) => e.message),
      exits.map((e) => e.message),
    );
  });
});
