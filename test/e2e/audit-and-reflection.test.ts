/**
 * With API keys on: control-plane writes land in the audit trail, which only
 * a folder's admins read; server reflection lists only the typed services a
 * caller may call.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { reflect, servicesOf } from '../helpers/reflection';
import { rest } from '../helpers/rest';

type Auth = Record<string, string>;
const bearer = (secret: string): Auth => ({ authorization: `Bearer ${secret}` });

describe('audit records and reflection under API keys', () => {
  let t: TestBerth;
  let admin: Auth;
  const keys: Record<string, Auth> = {};
  const folders: Record<string, string> = {};
  let nodeService = '';

  async function ok(method: string, p: string, body: unknown, auth: Auth): Promise<any> {
    const res = await rest(t.http, method, p, body, auth);
    assert.equal(res.status, 200, `${method} ${p}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function wait(operationId: string, auth: Auth): Promise<any> {
    const op = await ok('POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' }, auth);
    assert.equal(op.done, true);
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op;
  }

  before(async () => {
    t = (await startTestBerth('sqlite', { auth: 'keys' }))!;
    admin = bearer(readFileSync(path.join(t.config.dataDir, 'admin.key'), 'utf8').trim());
    for (const name of ['alpha', 'beta']) folders[name] = (await ok('POST', '/v1/folders', { name }, admin)).id;
    for (const [name, folder, role] of [
      ['dev', 'alpha', 'ROLE_DEVELOPER'],
      ['alpha-admin', 'alpha', 'ROLE_ADMIN'],
      ['beta-admin', 'beta', 'ROLE_ADMIN'],
    ] as const) {
      const principal = await ok('POST', '/v1/principals', { name, kind: 'PRINCIPAL_KIND_SERVICE_ACCOUNT' }, admin);
      keys[name] = bearer((await ok('POST', `/v1/principals/${principal.id}/keys`, { key: { description: 'test' } }, admin)).secret);
      await ok('POST', `/v1/folders/${folders[folder]}:updateAccessBindings`, { deltas: [{ action: 'ACCESS_BINDING_ACTION_ADD', binding: { principalId: principal.id, role } }] }, admin);
    }
  });

  after(async () => {
    await t?.close();
  });

  it('records writes and refused writes with who, what and the result; only the folder admins read them', async () => {
    const refused = await rest(t.http, 'PATCH', `/v1/folders/${folders.alpha}?update_mask=description`, { description: 'mine now' }, keys.dev!);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    const created = await ok('POST', '/v1/checkpoints', { folderId: folders.alpha, name: 'doubler', cells: { cells: ['x = 1.0', 'y = x * 2'] }, servedCellIndex: 1 }, keys.dev!);
    const checkpointId = (await wait(created.id, keys.dev!)).resourceId;

    const records = (await ok('GET', `/v1/auditRecords?folder_id=${folders.alpha}`, undefined, keys['alpha-admin']!)).auditRecords as any[];
    const mine = records.filter((r) => r.principalName === 'dev');
    assert.deepEqual(
      mine.map((r) => [r.method, r.result]),
      [
        ['berth.v1.CheckpointService/CreateCheckpoint', 'OK'],
        ['berth.v1.FolderService/UpdateFolder', 'PERMISSION_DENIED'],
      ],
      'newest first',
    );
    assert.equal(mine[0].resourceId, checkpointId);
    assert.equal(mine[0].folderId, folders.alpha);
    assert.match(mine[0].keyId, /^ak/);
    assert.ok(mine[0].time && mine[0].requestId, JSON.stringify(mine[0]));
    assert.match(mine[1].message, /may not administer/);
    assert.ok(!records.some((r) => r.method.endsWith('/ListFolders')), 'reads are not audited');

    // A developer may not read them, another folder's admin does not see the folder, server-wide records are the server admin's.
    assert.equal((await rest(t.http, 'GET', `/v1/auditRecords?folder_id=${folders.alpha}`, undefined, keys.dev!)).status, 403);
    assert.equal((await rest(t.http, 'GET', `/v1/auditRecords?folder_id=${folders.alpha}`, undefined, keys['beta-admin']!)).status, 404);
    assert.equal((await rest(t.http, 'GET', '/v1/auditRecords', undefined, keys['beta-admin']!)).status, 403);
    const serverWide = (await ok('GET', '/v1/auditRecords', undefined, admin)).auditRecords as any[];
    assert.equal(serverWide.filter((r) => r.method === 'berth.v1.IamService/CreatePrincipal' && r.result === 'OK').length, 3);
    assert.equal(serverWide.filter((r) => r.method === 'berth.v1.IamService/CreateKey').length, 3);
    assert.ok(!JSON.stringify(serverWide).includes('berth_ak'), 'no key secret in the trail');

    // The node the reflection case calls.
    const op = await ok(
      'POST',
      '/v1/nodes',
      {
        folderId: folders.alpha,
        name: 'doubler',
        spec: {
          checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_FLOAT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_FLOAT' }] },
          instanceRange: { min: 1, max: 1 },
        },
      },
      keys.dev!,
    );
    const nodeId = (await wait(op.id, keys.dev!)).resourceId;
    nodeService = (await ok('GET', `/v1/nodes/${nodeId}/api`, undefined, keys.dev!)).service;
    assert.ok(nodeService);
  });

  it('lists through reflection only the typed services the caller may call, and refuses a caller without a key', async () => {
    assert.ok(nodeService, 'the previous case made a node');
    const md = (auth: Auth) => {
      const m = new grpc.Metadata();
      m.set('authorization', auth.authorization!);
      return m;
    };
    const [forDev] = await reflect(t.grpc, [{ list_services: '*' }], md(keys.dev!));
    assert.ok(servicesOf(forDev).includes(nodeService), servicesOf(forDev).join(', '));
    const [forBeta, file] = await reflect(t.grpc, [{ list_services: '*' }, { file_containing_symbol: nodeService }], md(keys['beta-admin']!));
    assert.ok(!servicesOf(forBeta).includes(nodeService), servicesOf(forBeta).join(', '));
    assert.ok(servicesOf(forBeta).includes('berth.v1.NodeService'), 'the control plane is listed');
    assert.equal(file.error_response?.error_code, grpc.status.NOT_FOUND, JSON.stringify(file));
    await assert.rejects(reflect(t.grpc, [{ list_services: '*' }]), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED);
  });
});
