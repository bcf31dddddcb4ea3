import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { rest } from '../helpers/rest';

const dockerNode = (folderId: string, name: string) => ({
  folderId,
  name,
  description: 'an HTTP service',
  labels: { team: 'search' },
  spec: {
    docker: { image: 'berth-test-http:latest', endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 }, env: { MODE: 'fast' } },
    instanceRange: { min: 2, max: 4 },
  },
});

for (const db of DATABASES) {
  describe(`REST control plane on ${db}`, () => {
    let t: TestBerth | undefined;
    before(async () => {
      t = await startTestBerth(db);
    });
    after(async () => {
      await t?.close();
    });

    it('creates, reads, lists, updates and deletes folders, nodes and aliases as curl would', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const h = t.http;
      const folder = await rest(h, 'POST', '/v1/folders', { name: 'team-a', description: 'first team', labels: { env: 'dev' } });
      assert.equal(folder.status, 200, JSON.stringify(folder.body));
      assert.match(folder.body.id, /^fl[0-9a-z]+$/);
      assert.equal(folder.body.name, 'team-a');
      assert.deepEqual(folder.body.labels, { env: 'dev' });
      assert.equal(folder.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.ok(folder.headers.get('x-request-id'));
      const folderId: string = folder.body.id;

      const got = await rest(h, 'GET', `/v1/folders/${folderId}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, folder.body);

      const defaultFolder = await rest(h, 'GET', '/v1/folders/default');
      assert.equal(defaultFolder.status, 200);
      assert.equal(defaultFolder.body.name, 'default');

      const created = await rest(h, 'POST', '/v1/nodes', dockerNode(folderId, 'web'));
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.description, 'CreateNode');
      assert.equal(created.body.done, false);
      assert.equal(created.body.metadata['@type'], 'type.googleapis.com/berth.v1.NodeOperationMetadata');
      const nodeId: string = created.body.resourceId;
      assert.equal(created.body.metadata.nodeId, nodeId);

      const op = await rest(h, 'GET', `/v1/operations/${created.body.id}`);
      assert.equal(op.status, 200);
      assert.equal(op.body.resourceId, nodeId);

      const node = await rest(h, 'GET', `/v1/nodes/${nodeId}`);
      assert.equal(node.status, 200);
      assert.ok(['NODE_STATE_CREATED', 'NODE_STATE_UNHEALTHY'].includes(node.body.status.state), node.body.status.state);
      // This Berth runs the process runtime: the Docker node's creation fails, saying why.
      const failed = await rest(h, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '10s' });
      assert.equal(failed.body.done, true);
      assert.equal(failed.body.error.code, 9);
      assert.match(failed.body.error.message, /Docker nodes need a Docker engine/);
      const reasoned = await rest(h, 'GET', `/v1/nodes/${nodeId}`);
      assert.equal(reasoned.body.status.state, 'NODE_STATE_UNHEALTHY');
      assert.match(reasoned.body.status.reason, /Docker nodes need a Docker engine/);
      const byState = async (state: string) =>
        (await rest(h, 'GET', `/v1/nodes?folder_id=${folderId}&filter=${encodeURIComponent(`state = ${state}`)}`)).body.nodes.map((n: any) => n.id);
      assert.deepEqual(await byState('UNHEALTHY'), [nodeId]);
      assert.deepEqual(await byState('HEALTHY'), []);
      assert.deepEqual(
        (await rest(h, 'GET', `/v1/nodes?folder_id=default&filter=${encodeURIComponent('state = UNHEALTHY')}`)).body.nodes,
        [],
        'the state filter stays within the folder',
      );
      assert.equal(node.body.spec.docker.image, 'berth-test-http:latest');
      assert.deepEqual(node.body.spec.docker.env, { MODE: 'fast' });
      assert.deepEqual(node.body.spec.instanceRange, { min: 2, max: 4 });
      // Defaults are filled in and shown: the health check follows the endpoint.
      assert.equal(node.body.spec.docker.healthCheck.type, 'HEALTH_CHECK_TYPE_HTTP');
      assert.equal(node.body.spec.docker.healthCheck.port, 8080);
      assert.equal(node.body.spec.docker.endpoint.timeout, '60s');
      assert.equal(node.body.generation, '1');

      for (const name of ['api', 'batch', 'cron']) {
        const r = await rest(h, 'POST', '/v1/nodes', dockerNode(folderId, name));
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      // Paging: 4 nodes, 3 per page.
      const page1 = await rest(h, 'GET', `/v1/nodes?folder_id=${folderId}&page_size=3`);
      assert.equal(page1.status, 200);
      assert.deepEqual(page1.body.nodes.map((n: any) => n.name), ['web', 'api', 'batch']);
      assert.ok(page1.body.nextPageToken);
      const page2 = await rest(h, 'GET', `/v1/nodes?folderId=${folderId}&pageSize=3&pageToken=${page1.body.nextPageToken}`);
      assert.deepEqual(page2.body.nodes.map((n: any) => n.name), ['cron']);
      assert.equal(page2.body.nextPageToken, '');
      const filtered = await rest(h, 'GET', `/v1/nodes?folder_id=${folderId}&filter=${encodeURIComponent('name:"b"')}`);
      assert.deepEqual(filtered.body.nodes.map((n: any) => n.name), ['batch']);

      const alias = await rest(h, 'POST', '/v1/aliases', {
        folderId,
        name: 'prod',
        targets: [{ nodeId, weight: 100 }],
        metadata: { owner: 'search' },
      });
      assert.equal(alias.status, 200, JSON.stringify(alias.body));
      assert.equal(alias.body.access, 'ALIAS_ACCESS_PRIVATE');
      const aliasId: string = alias.body.id;

      // Update with an explicit field mask: only the masked field changes.
      const masked = await rest(h, 'PATCH', `/v1/nodes/${nodeId}?update_mask=spec.instance_range.max`, {
        description: 'ignored: not in the mask',
        spec: { instanceRange: { min: 1, max: 6 } },
      });
      assert.equal(masked.status, 200, JSON.stringify(masked.body));
      assert.deepEqual(masked.body.spec.instanceRange, { min: 2, max: 6 });
      assert.equal(masked.body.description, 'an HTTP service');
      assert.equal(masked.body.generation, '2');
      // Without a mask, PATCH changes the fields the body sets.
      const inferred = await rest(h, 'PATCH', `/v1/nodes/${nodeId}`, { description: 'the web tier' });
      assert.equal(inferred.status, 200, JSON.stringify(inferred.body));
      assert.equal(inferred.body.description, 'the web tier');
      assert.equal(inferred.body.generation, '2', 'a description change is not a spec change');

      const folderUpdate = await rest(h, 'PATCH', `/v1/folders/${folderId}?updateMask=labels`, { labels: { env: 'prod' } });
      assert.equal(folderUpdate.status, 200);
      assert.deepEqual(folderUpdate.body.labels, { env: 'prod' });
      assert.equal(folderUpdate.body.description, 'first team');

      const aliasUpdate = await rest(h, 'PATCH', `/v1/aliases/${aliasId}`, { metadata: { owner: 'web' } });
      assert.equal(aliasUpdate.status, 200);
      assert.deepEqual(aliasUpdate.body.metadata, { owner: 'web' });

      // Everything survives a restart.
      await t.restart();
      const afterRestart = await rest(t.http, 'GET', `/v1/nodes/${nodeId}`);
      assert.equal(afterRestart.status, 200);
      assert.equal(afterRestart.body.description, 'the web tier');
      assert.deepEqual(afterRestart.body.spec.instanceRange, { min: 2, max: 6 });
      const aliasAfter = await rest(t.http, 'GET', `/v1/aliases/${aliasId}`);
      assert.deepEqual(aliasAfter.body.metadata, { owner: 'web' });
      const folderAfter = await rest(t.http, 'GET', `/v1/folders/${folderId}`);
      assert.deepEqual(folderAfter.body.labels, { env: 'prod' });
      const ops = await rest(t.http, 'GET', `/v1/operations?folder_id=${folderId}`);
      assert.equal(ops.body.operations.length, 4);

      // Delete: the alias first (a node behind an alias cannot go), then nodes, then the folder.
      const blocked = await rest(t.http, 'DELETE', `/v1/nodes/${nodeId}`);
      assert.equal(blocked.status, 400);
      assert.equal(blocked.body.code, 9, 'FAILED_PRECONDITION');
      assert.match(blocked.body.message, /alias "prod"/);
      assert.equal((await rest(t.http, 'DELETE', `/v1/aliases/${aliasId}`)).status, 200);
      assert.equal((await rest(t.http, 'GET', `/v1/aliases/${aliasId}`)).status, 404);
      const folderBusy = await rest(t.http, 'DELETE', `/v1/folders/${folderId}`);
      assert.equal(folderBusy.status, 400);
      assert.equal(folderBusy.body.code, 9, 'FAILED_PRECONDITION');
      for (const n of (await rest(t.http, 'GET', `/v1/nodes?folder_id=${folderId}`)).body.nodes) {
        const del = await rest(t.http, 'DELETE', `/v1/nodes/${n.id}`);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        assert.equal(del.body.description, 'DeleteNode');
        assert.equal(del.body.done, true, 'a node without instances is deleted at once');
        assert.equal((await rest(t.http, 'GET', `/v1/nodes/${n.id}`)).status, 404);
      }
      const createOp = await rest(t.http, 'GET', `/v1/operations/${created.body.id}`);
      assert.equal(createOp.body.done, true);
      assert.equal(createOp.body.error.code, 9, 'a done operation keeps its result');
      assert.equal((await rest(t.http, 'DELETE', `/v1/folders/${folderId}`)).status, 200);
      assert.equal((await rest(t.http, 'GET', `/v1/folders/${folderId}`)).status, 404);
    });

    it('waits for operations and lists folders with paging', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const h = t.http;
      for (const name of ['p-one', 'p-two', 'p-three']) assert.equal((await rest(h, 'POST', '/v1/folders', { name })).status, 200);
      const seen: string[] = [];
      let token = '';
      do {
        const page = await rest(h, 'GET', `/v1/folders?page_size=2${token ? `&page_token=${token}` : ''}`);
        assert.equal(page.status, 200);
        assert.ok(page.body.folders.length <= 2);
        seen.push(...page.body.folders.map((f: any) => f.name));
        token = page.body.nextPageToken;
      } while (token);
      assert.deepEqual(seen, ['default', 'p-one', 'p-two', 'p-three']);

      // A capture of a slow notebook stays pending for a while.
      const created = await rest(h, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'slow', cells: { cells: ['import time\ntime.sleep(20)', 'y = 1'] }, servedCellIndex: 1 });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const started = Date.now();
      const waited = await rest(h, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '0.3s' });
      assert.equal(waited.status, 200);
      assert.equal(waited.body.done, false);
      assert.ok(Date.now() - started >= 250, 'WaitOperation waits for its timeout when the operation is not done');
      const cancelled = await rest(h, 'POST', `/v1/operations/${created.body.id}:cancel`, {});
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.body.done, true);
      assert.equal(cancelled.body.error.code, 1);
      const again = await rest(h, 'POST', `/v1/operations/${created.body.id}:cancel`, {});
      assert.equal(again.status, 400);
      assert.equal(again.body.code, 9, 'FAILED_PRECONDITION');
      // The capture stopped: the checkpoint is not pinned.
      let state = '';
      for (let i = 0; i < 50 && state !== 'CHECKPOINT_STATE_FAILED'; i++) {
        state = (await rest(h, 'GET', `/v1/checkpoints/${created.body.resourceId}`)).body.state;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state, 'CHECKPOINT_STATE_FAILED');
    });
  });
}
