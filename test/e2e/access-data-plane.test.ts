/**
 * Who may call a node, on every path a call takes: Execute (gRPC and REST
 * `:execute`), the node's typed gRPC service, its typed REST route
 * (`/v1/nodes/{id}/api:execute`), and the node API for a Docker node, by
 * `x-node-id` and by `x-node-alias`. Real Berth on the docker runtime with
 * keys on, images built locally.
 *
 * Folder A holds the nodes; their ACL names folder C; folder D is
 * unrelated. A caller may call a node with the user role in its folder or in
 * a folder of its ACL; `x-folder-id` (`folder_id` on Execute) names the one
 * folder it calls as, which must qualify: it is checked, not a hint. Who may
 * not see the node hears NOT_FOUND, who may see it PERMISSION_DENIED. A
 * private alias admits the users of its folder, a public one any
 * authenticated principal.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { AliasExecutionRequest, NodeExecutionRequest } from '../../gen/berth/v1/node_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { IamSetup, metadataOf, type KeyHolder } from '../helpers/iam';
import { rest } from '../helpers/rest';
import { typedClient, type TypedClient } from '../helpers/typed-client';
import { buildSystemImage, buildTestImages } from '../images/test-images';

type Outcome = 'ok' | 'denied' | 'hidden' | 'unauthenticated';
const EXPECTED: Record<Outcome, { code: Code; http: number }> = {
  ok: { code: Code.OK, http: 200 },
  denied: { code: Code.PERMISSION_DENIED, http: 403 },
  hidden: { code: Code.NOT_FOUND, http: 404 },
  unauthenticated: { code: Code.UNAUTHENTICATED, http: 401 },
};

type Who = 'user-of-a' | 'viewer-of-a' | 'user-of-c' | 'viewer-of-c' | 'user-of-d' | 'user-of-c-and-d' | 'no key';
type Folder = 'A' | 'C' | 'D';

/** Calls of the nodes of folder A (ACL: folder C): who calls, the folder it calls as (if it names one), what it gets. */
const NODE_CALLS: Array<[who: Who, via: Folder | undefined, outcome: Outcome]> = [
  ['user-of-a', undefined, 'ok'],
  ['user-of-a', 'A', 'ok'],
  // C is in the ACL, but this caller has no role there.
  ['user-of-a', 'C', 'denied'],
  ['user-of-a', 'D', 'denied'],
  ['user-of-c', undefined, 'ok'],
  ['user-of-c', 'C', 'ok'],
  // The node's own folder, where it has no role.
  ['user-of-c', 'A', 'denied'],
  ['viewer-of-a', undefined, 'denied'],
  ['viewer-of-a', 'A', 'denied'],
  ['viewer-of-c', undefined, 'denied'],
  ['user-of-c-and-d', undefined, 'ok'],
  ['user-of-c-and-d', 'C', 'ok'],
  // A user of D, but D is not in the ACL: refused, not ignored in favour of C.
  ['user-of-c-and-d', 'D', 'denied'],
  ['user-of-d', undefined, 'hidden'],
  ['user-of-d', 'D', 'hidden'],
  ['user-of-d', 'A', 'hidden'],
  ['no key', undefined, 'unauthenticated'],
];

/** Calls through folder A's aliases: a private one admits users of A only (the node's ACL does not extend to it), a public one anyone with a key. */
const ALIAS_CALLS: Array<[who: Who, access: 'private' | 'public', outcome: Outcome]> = [
  ['user-of-a', 'private', 'ok'],
  ['viewer-of-a', 'private', 'denied'],
  ['user-of-c', 'private', 'hidden'],
  ['user-of-d', 'private', 'hidden'],
  ['no key', 'private', 'unauthenticated'],
  ['user-of-a', 'public', 'ok'],
  ['viewer-of-a', 'public', 'ok'],
  ['user-of-c', 'public', 'ok'],
  ['user-of-d', 'public', 'ok'],
  ['no key', 'public', 'unauthenticated'],
];

describe('node ACL and alias access on every data-plane path', () => {
  let skip = false;
  let t: TestBerth | undefined;
  let iam: IamSetup;
  let rpc: ReturnType<typeof clients>;
  let typed: TypedClient;
  const clusterId = `acc${randomBytes(4).toString('hex')}`;
  const folders = {} as Record<Folder, string>;
  const keys = {} as Record<Exclude<Who, 'no key'>, KeyHolder>;
  /** A checkpoint node and a Docker node of folder A, both with folder C in their ACL. */
  let checkpointNode = '';
  let dockerNode = '';
  const nodeApi = () => `http://127.0.0.1:${t!.berth.nodeApiPort}`;
  const headersOf = (who: Who): Record<string, string> => (who === 'no key' ? {} : keys[who].headers);

  const wait = async (operationId: string): Promise<any> => {
    const op = await iam.call('POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' });
    assert.equal(op.done, true, JSON.stringify(op));
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op;
  };

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const [images, systemImage] = await Promise.all([buildTestImages(), buildSystemImage()]);
    t = await startTestBerth('sqlite', { auth: 'keys', runtime: 'docker', clusterId, systemImage, pullImages: false, resyncMs: 1000, startupTimeoutMs: 60_000 });
    iam = await new IamSetup(t!).init();
    for (const name of ['A', 'C', 'D'] as const) folders[name] = await iam.folder(`folder-${name.toLowerCase()}`);
    const { A, C, D } = folders;
    keys['user-of-a'] = await iam.member('user-of-a', [[A, 'user']]);
    keys['viewer-of-a'] = await iam.member('viewer-of-a', [[A, 'viewer']]);
    keys['user-of-c'] = await iam.member('user-of-c', [[C, 'user']]);
    keys['viewer-of-c'] = await iam.member('viewer-of-c', [[C, 'viewer']]);
    keys['user-of-d'] = await iam.member('user-of-d', [[D, 'user']]);
    keys['user-of-c-and-d'] = await iam.member('user-of-c-and-d', [[C, 'user'], [D, 'user']]);

    const captured = await wait((await iam.call('POST', '/v1/checkpoints', { folderId: A, name: 'plus-one', cells: { cells: ['y = 0', 'y = x + 1'] }, servedCellIndex: 1 })).id);
    const [cp, web] = await Promise.all([
      iam.call('POST', '/v1/nodes', {
        folderId: A,
        name: 'plus',
        spec: {
          checkpoint: { checkpointId: captured.resourceId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
          acl: { folderIds: [C] },
        },
      }),
      iam.call('POST', '/v1/nodes', {
        folderId: A,
        name: 'web',
        spec: {
          docker: {
            image: images.http,
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
          },
          acl: { folderIds: [C] },
        },
      }),
    ]);
    checkpointNode = (await wait(cp.id)).resourceId;
    dockerNode = (await wait(web.id)).resourceId;
    for (const [nodeId, prefix] of [[checkpointNode, 'plus'], [dockerNode, 'web']] as const)
      for (const access of ['private', 'public'] as const)
        await iam.call('POST', '/v1/aliases', { folderId: A, name: `${prefix}-${access}`, targets: [{ nodeId, weight: 100 }], access: `ALIAS_ACCESS_${access.toUpperCase()}` });
    rpc = clients(t!.grpc);
    const api = await iam.call('GET', `/v1/nodes/${checkpointNode}/api`);
    typed = typedClient(t!.grpc, api.protoFile, api.service);
  });

  after(async () => {
    rpc?.close();
    typed?.close();
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  /** The gRPC code of a call that may fail. */
  const codeOf = (call: Promise<unknown>): Promise<{ code: Code; message: string }> =>
    call.then(
      () => ({ code: Code.OK, message: '' }),
      (err: ServiceError) => {
        if (err.code === undefined) throw err;
        return { code: err.code, message: err.details };
      },
    );
  const judge = (wrong: string[], label: string, outcome: Outcome, got: { code: Code; http?: number; message: string }) => {
    const want = EXPECTED[outcome];
    if (got.code !== want.code || (got.http !== undefined && got.http !== want.http))
      wrong.push(`${label}: expected ${Code[want.code]}${got.http !== undefined ? `/${want.http}` : ''}, got ${Code[got.code]}${got.http !== undefined ? `/${got.http}` : ''} (${got.message})`);
  };
  const httpAnswer = async (res: Response) => {
    const text = await res.text();
    let code = Code.OK;
    if (res.status !== 200) code = (JSON.parse(text) as { code: Code }).code;
    return { code, http: res.status, message: text.slice(0, 300) };
  };

  it('Execute (gRPC and REST), the typed gRPC service and the typed REST route follow the node ACL and folder_id / x-folder-id', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const wrong: string[] = [];
    for (const [who, via, outcome] of NODE_CALLS) {
      const headers = headersOf(who);
      const folderId = via ? folders[via] : undefined;
      const label = (path: string) => `${path} by ${who}${via ? ` as folder ${via}` : ''}`;
      const viaHeader: Record<string, string> = folderId ? { 'x-folder-id': folderId } : {};

      const grpcExecute = await codeOf(
        unary(rpc.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId: checkpointNode, folderId: folderId ?? '', input: { x: 1 } }), metadataOf(headers)),
      );
      judge(wrong, label('gRPC Execute'), outcome, grpcExecute);

      const restExecute = await rest(t!.http, 'POST', `/v1/nodes/${checkpointNode}:execute`, { ...(folderId ? { folderId } : {}), input: { x: 1 } }, headers);
      judge(wrong, label('REST :execute'), outcome, { code: restExecute.status === 200 ? Code.OK : restExecute.body.code, http: restExecute.status, message: JSON.stringify(restExecute.body) });
      if (restExecute.status === 200) assert.equal(Number(restExecute.body.output.y), 2);

      const typedGrpc = await typed.execute({ x: 1 }, { ...headers, ...viaHeader }).then(
        (res) => {
          assert.equal(Number(res.y), 2);
          return { code: Code.OK, message: '' };
        },
        (err: ServiceError) => ({ code: err.code, message: err.details }),
      );
      judge(wrong, label(`typed gRPC ${typed.service}/Execute`), outcome, typedGrpc);

      const typedRest = await fetch(`${t!.http}/v1/nodes/${checkpointNode}/api:execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...viaHeader },
        body: JSON.stringify({ x: 1 }),
      });
      judge(wrong, label('typed REST api:execute'), outcome, await httpAnswer(typedRest));
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });

  it('ExecuteAlias (gRPC and REST) admits callers by the alias access, private or public', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const wrong: string[] = [];
    for (const [who, access, outcome] of ALIAS_CALLS) {
      const headers = headersOf(who);
      const aliasName = `plus-${access}`;
      const grpc = await codeOf(
        unary(rpc.nodes, 'executeAlias', AliasExecutionRequest.fromPartial({ folderId: folders.A, aliasName, input: { x: 1 } }), metadataOf(headers)),
      );
      judge(wrong, `gRPC ExecuteAlias ${aliasName} by ${who}`, outcome, grpc);
      const res = await rest(t!.http, 'POST', `/v1/aliases/${aliasName}:execute`, { folderId: folders.A, input: { x: 1 } }, headers);
      judge(wrong, `REST ${aliasName}:execute by ${who}`, outcome, { code: res.status === 200 ? Code.OK : res.body.code, http: res.status, message: JSON.stringify(res.body) });
      if (res.status === 200) assert.equal(Number(res.body.output.y), 2);
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });

  it('the node API follows the node ACL with x-node-id and x-folder-id, and the alias access with x-node-alias', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const wrong: string[] = [];
    for (const [who, via, outcome] of NODE_CALLS) {
      const res = await fetch(`${nodeApi()}/whoami`, { headers: { ...headersOf(who), 'x-node-id': dockerNode, ...(via ? { 'x-folder-id': folders[via] } : {}) } });
      judge(wrong, `node API x-node-id by ${who}${via ? ` as folder ${via}` : ''}`, outcome, await httpAnswer(res));
    }
    for (const [who, access, outcome] of ALIAS_CALLS) {
      const res = await fetch(`${nodeApi()}/whoami`, { headers: { ...headersOf(who), 'x-node-alias': `web-${access}`, 'x-folder-id': folders.A } });
      judge(wrong, `node API x-node-alias web-${access} by ${who}`, outcome, await httpAnswer(res));
    }
    assert.deepEqual(wrong, [], wrong.join('\n'));
  });

  it("does not forward the caller's authorization header (nor Berth's routing headers) to the instance", async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const user = keys['user-of-c'];
    for (const [scheme, routing] of [
      ['Bearer', { 'x-node-id': dockerNode }],
      ['Api-Key', { 'x-node-id': dockerNode, 'x-folder-id': folders.C }],
      ['Bearer', { 'x-node-alias': 'web-public', 'x-folder-id': folders.A }],
    ] as const) {
      const res = await fetch(`${nodeApi()}/headers`, { headers: { authorization: `${scheme} ${user.secret}`, 'x-trace-tag': 'kept', ...routing } });
      const body = (await res.json()) as { headers: Record<string, string> };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.headers['x-trace-tag'], 'kept', 'other headers reach the instance');
      for (const name of ['authorization', 'x-node-id', 'x-node-alias', 'x-folder-id']) assert.equal(body.headers[name], undefined, `${name} reached the instance: ${JSON.stringify(body.headers)}`);
      assert.ok(!JSON.stringify(body).includes(user.secret), 'the key reached the instance');
    }
  });
});
