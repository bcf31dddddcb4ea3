/**
 * The SecretService as callers use it, over REST and gRPC on both databases:
 * create, read, list (pages and filters), update the metadata, add versions,
 * delete; what a secret shows (keys, version, etag) and that a folder holding
 * one is not empty. The values sent are looked for in every answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import type { Secret } from '../../gen/berth/v1/secret';
import { AddSecretVersionRequest, CreateSecretRequest, GetSecretRequest, ListSecretsRequest, UpdateSecretRequest, type ListSecretsResponse } from '../../gen/berth/v1/secret_service';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';

const VALUES = ['s3cr3t-ALPHA', 's3cr3t-BETA', 's3cr3t-GAMMA'];

for (const db of DATABASES) {
  describe(`secrets over REST and gRPC on ${db}`, () => {
    let t: TestBerth | undefined;
    const answers: string[] = [];
    before(async () => {
      t = await startTestBerth(db);
    });
    after(async () => {
      await t?.close();
    });

    async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
      const res = await rest(t!.http, method, path, body);
      answers.push(JSON.stringify(res.body));
      return res;
    }

    it('creates, reads, lists, updates, versions and deletes secrets; no answer holds a value', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const folder = (await call('POST', '/v1/folders', { name: 'vault' })).body;
      const created = await call('POST', '/v1/secrets', {
        folderId: folder.id,
        name: 'db',
        description: 'the database login',
        labels: { env: 'dev' },
        entries: [
          { key: 'USER', value: VALUES[0] },
          { key: 'PASSWORD', value: VALUES[1] },
        ],
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const secret = created.body;
      assert.match(secret.id, /^sc[0-9a-z]+$/);
      assert.deepEqual(
        { name: secret.name, description: secret.description, labels: secret.labels, entries: secret.entries, version: secret.version, etag: secret.etag },
        { name: 'db', description: 'the database login', labels: { env: 'dev' }, entries: [{ key: 'USER' }, { key: 'PASSWORD' }], version: '1', etag: '"1"' },
      );
      assert.deepEqual((await call('GET', `/v1/secrets/${secret.id}`)).body, secret);

      for (const name of ['api', 'cache']) assert.equal((await call('POST', '/v1/secrets', { folderId: folder.id, name, entries: [{ key: 'token', value: VALUES[2] }] })).status, 200);
      const first = (await call('GET', `/v1/secrets?folder_id=${folder.id}&page_size=2`)).body;
      assert.deepEqual(first.secrets.map((s: any) => s.name), ['db', 'api']);
      const second = (await call('GET', `/v1/secrets?folder_id=${folder.id}&page_size=2&page_token=${first.nextPageToken}`)).body;
      assert.deepEqual(second.secrets.map((s: any) => s.name), ['cache']);
      assert.equal(second.nextPageToken, '');
      const filtered = (await call('GET', `/v1/secrets?folder_id=${folder.id}&filter=${encodeURIComponent('name:"ca"')}`)).body;
      assert.deepEqual(filtered.secrets.map((s: any) => s.name), ['cache']);
      assert.deepEqual((await call('GET', '/v1/secrets?folder_id=default')).body.secrets, []);

      const patched = await call('PATCH', `/v1/secrets/${secret.id}`, { description: 'the login', etag: secret.etag });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.description, 'the login');
      assert.deepEqual(patched.body.labels, { env: 'dev' }, 'only the masked field changed');
      assert.equal(patched.body.version, '1', 'metadata changes make no new version');
      assert.notEqual(patched.body.etag, secret.etag);

      const stale = await call('POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [{ key: 'USER', value: VALUES[0] }], etag: secret.etag });
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      const versioned = await call('POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [{ key: 'USER', value: VALUES[2] }, { key: 'HOST', value: 'db.internal' }], etag: patched.body.etag });
      assert.equal(versioned.status, 200, JSON.stringify(versioned.body));
      assert.equal(versioned.body.version, '2');
      assert.deepEqual(versioned.body.entries, [{ key: 'USER' }, { key: 'HOST' }], 'a version replaces every entry');

      const notEmpty = await call('DELETE', `/v1/folders/${folder.id}`);
      assert.equal(notEmpty.status, 400);
      assert.equal(notEmpty.body.code, Code.FAILED_PRECONDITION);
      assert.match(notEmpty.body.message, /3 secrets/);

      const c = clients(t.grpc);
      try {
        const got = await unary<GetSecretRequest, Secret>(c.secrets, 'getSecret', GetSecretRequest.fromPartial({ secretId: secret.id }));
        assert.equal(got.version, 2);
        assert.deepEqual(got.entries, [{ key: 'USER' }, { key: 'HOST' }]);
        const renamed = await unary<UpdateSecretRequest, Secret>(c.secrets, 'updateSecret', UpdateSecretRequest.fromPartial({ secret: { id: secret.id, name: 'database' }, updateMask: ['name'] }));
        assert.equal(renamed.name, 'database');
        const taken = await unary(c.secrets, 'updateSecret', UpdateSecretRequest.fromPartial({ secret: { id: secret.id, name: 'api' }, updateMask: ['name'] })).catch((err: ServiceError) => err);
        assert.equal((taken as ServiceError).code, Code.ALREADY_EXISTS);
        const third = await unary<AddSecretVersionRequest, Secret>(c.secrets, 'addSecretVersion', AddSecretVersionRequest.fromPartial({ secretId: secret.id, entries: [{ key: 'USER', value: VALUES[1] }] }));
        assert.equal(third.version, 3);
        const created2 = await unary<CreateSecretRequest, Secret>(c.secrets, 'createSecret', CreateSecretRequest.fromPartial({ folderId: folder.id, name: 'grpc', entries: [{ key: 'k', value: VALUES[0] }] }));
        const listed = await unary<ListSecretsRequest, ListSecretsResponse>(c.secrets, 'listSecrets', ListSecretsRequest.fromPartial({ folderId: folder.id }));
        assert.deepEqual(listed.secrets.map((s) => s.name), ['database', 'api', 'cache', 'grpc']);
        answers.push(JSON.stringify([got, renamed, third, created2, listed]));
      } finally {
        c.close();
      }

      for (const s of (await call('GET', `/v1/secrets?folder_id=${folder.id}`)).body.secrets) {
        assert.equal((await call('DELETE', `/v1/secrets/${s.id}`)).status, 200);
      }
      assert.equal((await call('GET', `/v1/secrets/${secret.id}`)).status, 404);
      assert.equal((await call('DELETE', `/v1/folders/${folder.id}`)).status, 200, 'a folder whose secrets are gone is empty');
      for (const value of VALUES) assert.ok(!answers.some((a) => a.includes(value)), `an answer holds the value ${value}`);
    });
  });
}
