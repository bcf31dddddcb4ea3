/**
 * Who may read metrics under `--auth keys`. Berth's own `/metrics` needs no
 * key by default (a scraper on the private port, as for /healthz) and a
 * server admin's key with `--metrics-auth keys`. A folder's
 * `/metrics/folders/{id}` (its instances' own metrics) always needs a key
 * that may list the folder's nodes: who may not see the folder hears
 * NOT_FOUND, as for ListNodes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { IamSetup, type KeyHolder } from '../helpers/iam';
import { promtoolCheck } from '../helpers/metrics';

async function get(t: TestBerth, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.http}${path}`, { headers });
  return { status: res.status, text: await res.text() };
}

describe('metrics access', () => {
  let open: TestBerth | undefined;
  let closed: TestBerth | undefined;
  let iam: IamSetup;
  let viewer: KeyHolder;
  let outsider: KeyHolder;
  let folder = '';

  before(async () => {
    open = await startTestBerth('sqlite', { auth: 'keys' });
    closed = await startTestBerth('sqlite', { auth: 'keys', metricsAuth: 'keys' });
    iam = await new IamSetup(closed!).init();
    folder = await iam.folder('team-a');
    const other = await iam.folder('team-b');
    viewer = await iam.member('viewer-of-a', [[folder, 'viewer']]);
    outsider = await iam.member('user-of-b', [[other, 'user']]);
  });

  after(async () => {
    await open?.close();
    await closed?.close();
  });

  it('GET /metrics needs no key by default, and answers text promtool finds clean', async () => {
    const res = await get(open!, '/metrics');
    assert.equal(res.status, 200);
    const lint = promtoolCheck(res.text);
    assert.equal(lint.status, 0, lint.output);
    assert.match(res.text, /^# TYPE berth_node_requests_total counter$/m);
    assert.equal((await fetch(`${open!.http}/metrics`, { method: 'POST' })).status, 405);
  });

  it("with --metrics-auth keys, GET /metrics needs a server admin's key", async () => {
    assert.equal((await get(closed!, '/metrics')).status, 401);
    assert.equal((await get(closed!, '/metrics', { authorization: 'Bearer berth_aknope_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' })).status, 401);
    assert.equal((await get(closed!, '/metrics', viewer.headers)).status, 403);
    const admin = await get(closed!, '/metrics', iam.admin.headers);
    assert.equal(admin.status, 200);
    // The setup's calls are there, by method: two folders created.
    assert.match(admin.text, /^berth_api_calls_total\{method="berth\.v1\.FolderService\/CreateFolder",transport="rest",code="OK"\} 2$/m);
  });

  it("a folder's instance metrics need a key that may list the folder's nodes", async () => {
    assert.equal((await get(closed!, `/metrics/folders/${folder}`)).status, 401);
    assert.equal((await get(closed!, `/metrics/folders/${folder}`, outsider.headers)).status, 404);
    const allowed = await get(closed!, `/metrics/folders/${folder}`, viewer.headers);
    assert.equal(allowed.status, 200);
    // No node of the folder publishes telemetry: an empty exposition, which is valid.
    assert.equal(allowed.text, '');
    assert.equal((await get(closed!, `/metrics/folders/${folder}`, iam.admin.headers)).status, 200);
    assert.equal((await get(open!, '/metrics/folders/default')).status, 401);
  });
});
