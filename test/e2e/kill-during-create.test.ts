/**
 * SIGKILL of `berth serve` in the middle of a CreateNode (Docker node, min 3),
 * then a restart on the same database: the operation completes, the node is
 * Healthy with exactly 3 containers, and nothing is left that belongs to no
 * node. The kill lands at instrumented points of the create (right after the
 * first and the last instance row is written, right after the first and the
 * last container started) and at fixed delays after the CreateNode call.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTestImages, type TestImages } from '../images/test-images';
import { dockerAvailable, listByClusterId, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep } from '../helpers/wait';

/** Where in the create the kill lands: after n log lines of a kind, or after a delay. */
type KillPoint = { name: string; log: string; count: number } | { name: string; afterMs: number };

const KILL_POINTS: KillPoint[] = [
  { name: 'after the first instance row is written', log: 'creating instance', count: 1 },
  { name: 'after the third instance row is written', log: 'creating instance', count: 3 },
  { name: 'after the first container started', log: 'instance started', count: 1 },
  { name: 'after the third container started', log: 'instance started', count: 3 },
  { name: '0.1 s after CreateNode', afterMs: 100 },
  { name: '0.3 s after CreateNode', afterMs: 300 },
  { name: '0.6 s after CreateNode', afterMs: 600 },
  { name: '1 s after CreateNode', afterMs: 1000 },
  { name: '2 s after CreateNode', afterMs: 2000 },
];

describe('SIGKILL of berth serve during a CreateNode', () => {
  let images: TestImages;
  let serve: ServeProcess | undefined;
  let skip = false;
  const clusterId = `kdc${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-kill-'));
  const args = [
    '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
    '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
    '--startup-timeout-ms', '60000', '--pull-images', 'false',
  ];
  const http = () => `http://127.0.0.1:${serve!.httpPort}`;

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
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Resolves when the kill point is reached (the log line seen, or the delay over). */
  function reached(point: KillPoint, s: ServeProcess): Promise<void> {
    if ('afterMs' in point) return sleep(point.afterMs).then(() => undefined);
    return new Promise((resolve) => {
      let seen = 0;
      const onLog = (entry: any) => {
        if (entry.msg === point.log && ++seen === point.count) {
          s.events.off('log', onLog);
          resolve();
        }
      };
      s.events.on('log', onLog);
    });
  }

  for (const [n, point] of KILL_POINTS.entries()) {
    it(`completes the operation when killed ${point.name}`, async (t) => {
      if (skip) return t.skip('no Docker engine');
      const s = serve!;
      const created = await rest(http(), 'POST', '/v1/nodes', {
        folderId: 'default',
        name: `kill-${n}`,
        spec: {
          docker: {
            image: images.http,
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
          },
          instanceRange: { min: 3, max: 3 },
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const nodeId: string = created.body.resourceId;
      await Promise.race([reached(point, s), sleep(30_000)]);
      s.proc.kill('SIGKILL');
      await s.exited;

      serve = await startServe(args);
      const op = await rest(http(), 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '90s' });
      assert.equal(op.status, 200, JSON.stringify(op.body));
      assert.equal(op.body.done, true, `the operation finished: ${JSON.stringify(op.body)}`);
      assert.equal(op.body.error, undefined, `the operation succeeded: ${JSON.stringify(op.body.error)}`);
      assert.equal(op.body.response.id, nodeId);
      assert.equal(op.body.response.status.state, 'NODE_STATE_HEALTHY');

      const { containers, networks } = await listByClusterId(clusterId);
      const mine = containers.filter((c) => c.Labels['berth.node_id'] === nodeId);
      assert.equal(mine.length, 3, `exactly 3 containers: ${mine.map((c) => `${c.Names[0]} ${c.State}`).join(', ')}`);
      assert.ok(mine.every((c) => c.State === 'running'));
      const rows = (await rest(http(), 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances as any[];
      assert.deepEqual(rows.map((r) => r.id).sort(), mine.map((c) => c.Labels['berth.instance_id']).sort(), 'one row per container');
      // Nothing labelled with this cluster belongs to no live node.
      const live = new Set([nodeId]);
      assert.deepEqual(containers.filter((c) => !live.has(c.Labels['berth.node_id']!)).map((c) => c.Names[0]), []);
      assert.deepEqual(networks.filter((nw) => !live.has(nw.Labels?.['berth.node_id'] ?? '')).map((nw) => nw.Name), []);

      const del = await rest(http(), 'DELETE', `/v1/nodes/${nodeId}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      const deleted = await rest(http(), 'POST', `/v1/operations/${del.body.id}:wait`, { timeout: '60s' });
      assert.equal(deleted.body.done, true);
      const left = await listByClusterId(clusterId);
      assert.deepEqual(left.containers.map((c) => c.Names[0]), [], 'the delete left no container');
    });
  }
});
