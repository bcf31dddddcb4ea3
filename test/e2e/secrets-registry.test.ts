/**
 * A secret as registry credentials and as an environment variable, end to
 * end on the real Docker engine and a real private registry: Debian's
 * `docker-registry` with htpasswd auth on 127.0.0.1, holding the HTTP test
 * image under a name that is not present locally, so Berth must pull it with
 * the node's registry secret. The values are random per run, so that looking
 * for them in every answer, every log line (debug level) and the stored bytes
 * (the SQLite file and its WAL; a pg_dump of PostgreSQL) cannot hit anything
 * else. On both databases.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import pino from 'pino';
import { GetNodeRequest } from '../../gen/berth/v1/node_service';
import { GetSecretRequest, ListSecretsRequest } from '../../gen/berth/v1/secret_service';
import { dialectOf } from '../../src/store/orm';
import { buildTestImages, type TestImages } from '../images/test-images';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { dumpTables } from '../helpers/refusals';
import { registryInstalled, startRegistry, type TestRegistry } from '../helpers/registry';
import { rest } from '../helpers/rest';

const hex = (n: number): string => randomBytes(n).toString('hex');

describe('a secret as registry credentials and as an environment variable', () => {
  const docker = new Dockerode();
  const username = `berth${hex(4)}`;
  const password = `pw-${hex(16)}`;
  const token = `tok-${hex(16)}`;
  const wrongPassword = `wrong-${hex(16)}`;
  /** What must appear nowhere: the values, and their encodings a careless path might use. */
  const needles = [password, token, wrongPassword, ...[password, token].flatMap((v) => [Buffer.from(v).toString('base64'), Buffer.from(v).toString('hex')])];
  let images: TestImages;
  let registry: TestRegistry | undefined;
  let skip = false;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    assert.ok(registryInstalled(), 'docker-registry and htpasswd are needed: apt-get install docker-registry apache2-utils (.ci/run does)');
    images = await buildTestImages();
    registry = await startRegistry(username, password);
  });

  after(async () => {
    await registry?.stop();
  });

  for (const db of DATABASES) {
    describe(`on ${db}`, () => {
      const clusterId = `sec${hex(4)}`;
      const logs: string[] = [];
      const answers: string[] = [];
      let t: TestBerth | undefined;
      let image = '';
      let registrySecret: any;
      let appSecret: any;
      let nodeId = '';

      /** A REST call whose answer is kept, to be searched for the values at the end. */
      async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
        const res = await rest(t!.http, method, path, body);
        answers.push(JSON.stringify(res.body));
        return res;
      }

      async function finished(operationId: string): Promise<any> {
        for (;;) {
          const res = await call('POST', `/v1/operations/${operationId}:wait`, { timeout: '60s' });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          if (res.body.done) return res.body;
        }
      }

      const nodeBody = (name: string, docker: Record<string, unknown>) => ({
        folderId: 'default',
        name,
        spec: {
          docker: {
            image,
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s' },
            ...docker,
          },
        },
      });

      async function imagePresent(ref: string): Promise<boolean> {
        try {
          await docker.getImage(ref).inspect();
          return true;
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404) return false;
          throw err;
        }
      }

      before(async () => {
        if (skip) return;
        image = await registry!.pushAway(images.http, 'berth-test/http', `${db}-${hex(4)}`);
        assert.equal(await imagePresent(image), false, `${image} must not be present locally: Berth has to pull it`);
        const sink = { write: (line: string) => void logs.push(line) };
        t = await startTestBerth(db, { runtime: 'docker', pullImages: true, clusterId, resyncMs: 2000, startupTimeoutMs: 60_000 }, pino({ level: 'debug' }, sink));
      });

      after(async () => {
        await t?.close();
        if (!skip) {
          await removeByClusterId(clusterId);
          await docker.getImage(image).remove().catch(() => undefined);
        }
      });

      it('without credentials the pull fails, and the reason says the registry wants them', async (ctx) => {
        if (skip || !t) return ctx.skip('no Docker engine, or PostgreSQL is not available');
        const created = await call('POST', '/v1/nodes', nodeBody('anonymous', {}));
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const op = await finished(created.body.id);
        assert.ok(op.error, `the node without a registry secret ran: ${JSON.stringify(op)}`);
        assert.match(op.error.message, /pull failed: .*(no basic auth credentials|unauthorized|authentication required)/);
        assert.match(op.error.message, /registry_secret_id/);
        ctx.diagnostic(op.error.message);
        assert.equal(await imagePresent(image), false);
        const deleted = await call('DELETE', `/v1/nodes/${created.body.resourceId}`);
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        await finished(deleted.body.id);
      });

      it('with a wrong password the pull fails, and the reason says the credentials were refused', async (ctx) => {
        if (skip || !t) return ctx.skip('no Docker engine, or PostgreSQL is not available');
        const wrong = await call('POST', '/v1/secrets', {
          folderId: 'default',
          name: 'wrong-login',
          entries: [
            { key: 'username', value: username },
            { key: 'password', value: wrongPassword },
          ],
        });
        assert.equal(wrong.status, 200, JSON.stringify(wrong.body));
        const created = await call('POST', '/v1/nodes', nodeBody('refused', { registrySecretId: wrong.body.id }));
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const op = await finished(created.body.id);
        assert.ok(op.error, `the node with wrong credentials ran: ${JSON.stringify(op)}`);
        assert.match(op.error.message, /pull failed: .*refused the credentials of the node's registry secret/);
        ctx.diagnostic(op.error.message);
        const deleted = await call('DELETE', `/v1/nodes/${created.body.resourceId}`);
        await finished(deleted.body.id);
        assert.equal((await call('DELETE', `/v1/secrets/${wrong.body.id}`)).status, 200);
      });

      it('with the registry secret the node pulls and runs, and the env var reaches the container', async (ctx) => {
        if (skip || !t) return ctx.skip('no Docker engine, or PostgreSQL is not available');
        const reg = await call('POST', '/v1/secrets', {
          folderId: 'default',
          name: 'registry-login',
          entries: [
            { key: 'username', value: username },
            { key: 'password', value: password },
          ],
        });
        assert.equal(reg.status, 200, JSON.stringify(reg.body));
        registrySecret = reg.body;
        assert.deepEqual(registrySecret.entries, [{ key: 'username' }, { key: 'password' }]);
        assert.equal(registrySecret.version, '1');
        const app = await call('POST', '/v1/secrets', { folderId: 'default', name: 'app-token', entries: [{ key: 'token', value: token }] });
        assert.equal(app.status, 200, JSON.stringify(app.body));
        appSecret = app.body;

        const created = await call(
          'POST',
          '/v1/nodes',
          nodeBody('private', {
            registrySecretId: registrySecret.id,
            env: { PLAIN: 'visible' },
            envFromSecrets: [{ envName: 'API_TOKEN', secretId: appSecret.id, key: 'token' }],
          }),
        );
        assert.equal(created.status, 200, JSON.stringify(created.body));
        nodeId = created.body.resourceId;
        const op = await finished(created.body.id);
        assert.equal(op.error, undefined, `the node did not become healthy: ${JSON.stringify(op.error)}`);
        assert.equal(op.response.status.state, 'NODE_STATE_HEALTHY');
        assert.equal(await imagePresent(image), true, 'Berth pulled the image');

        const containers = await docker.listContainers({ filters: { label: [`berth.node_id=${nodeId}`] } });
        assert.equal(containers.length, 1);
        const env = (await docker.getContainer(containers[0]!.Id).inspect()).Config.Env;
        assert.ok(env.includes(`API_TOKEN=${token}`), 'the secret value is in the container environment');
        assert.ok(env.includes('PLAIN=visible'));
      });

      it('shows only references: no value in any answer, log line or stored byte', async (ctx) => {
        if (skip || !t) return ctx.skip('no Docker engine, or PostgreSQL is not available');
        const node = (await call('GET', `/v1/nodes/${nodeId}`)).body;
        assert.deepEqual(node.spec.docker.env, { PLAIN: 'visible' }, 'plain env values stay visible');
        assert.deepEqual(node.spec.docker.envFromSecrets, [{ envName: 'API_TOKEN', secretId: appSecret.id, key: 'token' }]);
        assert.equal(node.spec.docker.registrySecretId, registrySecret.id);
        await call('GET', '/v1/nodes?folder_id=default');
        await call('GET', `/v1/nodes/${nodeId}/instances`);
        await call('GET', `/v1/secrets/${registrySecret.id}`);
        await call('GET', '/v1/secrets?folder_id=default');
        await call('GET', '/v1/operations?folder_id=default');
        // A new version, and a refusal with a value in it: neither answers with the value.
        const next = await call('POST', `/v1/secrets/${appSecret.id}:addVersion`, { entries: [{ key: 'token', value: token }] });
        assert.equal(next.body.version, '2');
        const refused = await call('POST', `/v1/secrets/${appSecret.id}:addVersion`, { entries: [{ key: 'other', value: token }] });
        assert.equal(refused.status, 400, 'a node reads "token": a version without it is refused');
        assert.equal(refused.body.code, 9, 'FAILED_PRECONDITION');
        const inUse = await call('DELETE', `/v1/secrets/${registrySecret.id}`);
        assert.equal(inUse.status, 400, JSON.stringify(inUse.body));
        assert.equal(inUse.body.code, 9, 'FAILED_PRECONDITION');
        assert.match(inUse.body.message, /"private"/);
        const grpc = clients(t.grpc);
        try {
          answers.push(JSON.stringify(await unary(grpc.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId }))));
          answers.push(JSON.stringify(await unary(grpc.secrets, 'getSecret', GetSecretRequest.fromPartial({ secretId: appSecret.id }))));
          answers.push(JSON.stringify(await unary(grpc.secrets, 'listSecrets', ListSecretsRequest.fromPartial({ folderId: 'default' }))));
        } finally {
          grpc.close();
        }
        for (const needle of needles) assert.ok(!answers.some((a) => a.includes(needle)), 'a secret value appears in an answer');

        assert.ok(logs.some((line) => /"level":20/.test(line)), 'the log was captured at debug level');
        assert.ok(logs.some((line) => line.includes('image pulled')), 'the log tells of the pull');
        for (const needle of needles) assert.ok(!logs.some((line) => line.includes(needle)), 'a secret value appears in a log line');

        const stored: Buffer[] = [];
        const url = t.config.databaseUrl;
        if (dialectOf(url) === 'sqlite') {
          for (const file of [url, `${url}-wal`]) if (existsSync(file)) stored.push(readFileSync(file));
          assert.ok(Buffer.concat(stored).includes('registry-login'), 'the search covers the bytes the secret was written to');
        } else {
          stored.push(execFileSync('pg_dump', ['--no-owner', url], { maxBuffer: 64 * 1024 * 1024 }));
          assert.ok(stored[0]!.includes('registry-login'), 'the dump holds the secrets table');
        }
        stored.push(Buffer.from(JSON.stringify(await dumpTables(t.berth.orm, url))));
        for (const needle of needles) assert.ok(!stored.some((bytes) => bytes.includes(needle)), 'a secret value is readable in the database');
      });

      it('a secret no node uses any more can be deleted', async (ctx) => {
        if (skip || !t) return ctx.skip('no Docker engine, or PostgreSQL is not available');
        const deleted = await call('DELETE', `/v1/nodes/${nodeId}`);
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        await finished(deleted.body.id);
        for (const secret of [registrySecret, appSecret]) {
          const res = await call('DELETE', `/v1/secrets/${secret.id}`);
          assert.equal(res.status, 200, JSON.stringify(res.body));
        }
        assert.equal((await call('GET', `/v1/secrets/${appSecret.id}`)).status, 404);
      });
    });
  }
});
