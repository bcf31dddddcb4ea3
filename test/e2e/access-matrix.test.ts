/**
 * The access matrix: every gRPC method and every REST route of Berth, called
 * by each kind of caller against folder A's resources, answers the code the
 * role table below says. The methods are enumerated from the descriptor set
 * and the generated service definitions, the routes from their
 * google.api.http bindings: a method without a row here fails the test.
 *
 * Callers: no key, a malformed header, a forged key (a real key id with
 * another secret), a revoked key, an expired key → UNAUTHENTICATED / 401 on
 * every method; viewer, user, developer and admin of folder A → success or
 * PERMISSION_DENIED / 403 per the table; the admin of folder B → NOT_FOUND /
 * 404 for anything of folder A, answered exactly as for a resource that does
 * not exist (checked by calling again with made-up ids): no read or call
 * across folders succeeds, nor tells that A's resources exist.
 *
 * Calls expected to succeed on a method that removes or changes its target
 * get a throwaway resource of their own; the others aim at the shared ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '@bufbuild/protobuf';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { allMethods, MethodCaller, type Answer, type MethodInfo } from '../helpers/api-methods';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { IamSetup, authHeaders, type KeyHolder } from '../helpers/iam';
import { rest } from '../helpers/rest';
import { typedClient, type TypedClient } from '../helpers/typed-client';
import { waitFor } from '../helpers/wait';

type Outcome = 'ok' | 'denied' | 'hidden';
/** What the viewer, user, developer and admin of folder A, and the admin of folder B, get. */
type Row = readonly [viewer: Outcome, user: Outcome, developer: Outcome, admin: Outcome, adminOfB: Outcome];

/** `read` in the folder (ACCESS_RULES: viewer or higher). */
const READ: Row = ['ok', 'ok', 'ok', 'ok', 'hidden'];
/** `call`: user or higher in the node's or alias's folder. */
const CALL: Row = ['denied', 'ok', 'ok', 'ok', 'hidden'];
/** `write`: developer or higher. */
const WRITE: Row = ['denied', 'denied', 'ok', 'ok', 'hidden'];
/** `admin` of the folder. */
const ADMIN: Row = ['denied', 'denied', 'denied', 'ok', 'hidden'];
/** Server admins only, refused before the request is looked at: the answer is the same whatever it names. */
const SERVER_ADMIN: Row = ['denied', 'denied', 'denied', 'denied', 'denied'];
/** Any authenticated caller (the handler shows it only what is its own). */
const ANYONE: Row = ['ok', 'ok', 'ok', 'ok', 'ok'];
/** Another principal's keys: as if that principal did not exist, for all but server admins. */
const NO_ONE: Row = ['hidden', 'hidden', 'hidden', 'hidden', 'hidden'];
/**
 * Another principal: principals are server-wide; an admin of any folder finds
 * them (to grant roles), everyone else sees only itself.
 */
const FOLDER_ADMINS: Row = ['hidden', 'hidden', 'hidden', 'ok', 'ok'];

/** Throwaway resources of folder A, one per call expected to succeed on a method that removes or changes it. */
type Fresh = 'node' | 'suspended-node' | 'alias' | 'checkpoint' | 'secret' | 'pending-operation' | 'own-key';

/** Folder A's shared resources, and what the IAM methods aim at. */
interface Fixture {
  A: string;
  B: string;
  /** A checkpoint node with one instance. */
  node: string;
  /** Private, targets `node`. */
  alias: { id: string; name: string };
  /** Ready, used by `node`. */
  checkpoint: string;
  /** A secret no node uses. */
  secret: string;
  /** The done CreateNode operation of `node`. */
  operation: string;
  /** A capture that sleeps: not done, for CancelOperation. */
  pending: string;
  /** A service account with the user role in A, none of the callers. */
  member: { principalId: string; keyId: string };
  /** A principal with no role anywhere (UpdateAccessBindings grants it one). */
  outsider: string;
}

/** The shared resource a method that takes a throwaway aims at when the call is expected to fail. */
function sharedTarget(kind: Exclude<Fresh, 'own-key'>, f: Fixture): string {
  return { node: f.node, 'suspended-node': f.node, alias: f.alias.id, checkpoint: f.checkpoint, secret: f.secret, 'pending-operation': f.pending }[kind];
}

interface Case {
  /** Names the variant when a method has several. */
  variant?: string;
  who: Row;
  fresh?: Fresh;
  /** The request in proto3 JSON; `fresh` is the throwaway's id (or the shared resource's, for calls expected to fail). */
  request(f: Fixture, x: { fresh: string; me: KeyHolder; n: number }): JsonObject;
}

const nodeSpec = (checkpointId: string, min: number) => ({
  checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
  instanceRange: { min, max: 1 },
});

/** The expectation of every method, by `Service/Method`. */
const CASES: Record<string, Case[]> = {
  'FolderService/CreateFolder': [{ who: SERVER_ADMIN, request: (_, x) => ({ folder: { name: `made-${x.n}` } }) }],
  'FolderService/GetFolder': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'FolderService/ListFolders': [{ who: ANYONE, request: () => ({}) }],
  'FolderService/UpdateFolder': [{ who: ADMIN, request: (f, x) => ({ folder: { id: f.A, description: `changed ${x.n}` }, updateMask: 'description' }) }],
  'FolderService/DeleteFolder': [{ who: SERVER_ADMIN, request: (f) => ({ folderId: f.A }) }],

  'NodeService/CreateNode': [{ who: WRITE, request: (f, x) => ({ node: { folderId: f.A, name: `made-${x.n}`, spec: nodeSpec(f.checkpoint, 0) } }) }],
  'NodeService/GetNode': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/ListNodes': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'NodeService/UpdateNode': [{ who: WRITE, request: (f, x) => ({ node: { id: f.node, description: `changed ${x.n}` }, updateMask: 'description' }) }],
  'NodeService/DeleteNode': [{ who: WRITE, fresh: 'node', request: (_, x) => ({ nodeId: x.fresh }) }],
  'NodeService/SuspendNode': [{ who: WRITE, fresh: 'node', request: (_, x) => ({ nodeId: x.fresh }) }],
  'NodeService/ResumeNode': [{ who: WRITE, fresh: 'suspended-node', request: (_, x) => ({ nodeId: x.fresh }) }],
  'NodeService/ListInstances': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/GetNodeApi': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/ListNodeLogs': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/StreamNodeLogs': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/ListNodeEvents': [{ who: READ, request: (f) => ({ nodeId: f.node }) }],
  'NodeService/Execute': [{ who: CALL, request: (f) => ({ nodeId: f.node, input: { x: 1 } }) }],
  'NodeService/ExecuteAlias': [{ who: CALL, request: (f) => ({ folderId: f.A, aliasName: f.alias.name, input: { x: 1 } }) }],

  'AliasService/CreateAlias': [{ who: WRITE, request: (f, x) => ({ alias: { folderId: f.A, name: `made-${x.n}`, targets: [{ nodeId: f.node, weight: 100 }] } }) }],
  'AliasService/GetAlias': [{ who: READ, request: (f) => ({ aliasId: f.alias.id }) }],
  'AliasService/ListAliases': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'AliasService/UpdateAlias': [{ who: WRITE, request: (f, x) => ({ alias: { id: f.alias.id, description: `changed ${x.n}` }, updateMask: 'description' }) }],
  'AliasService/DeleteAlias': [{ who: WRITE, fresh: 'alias', request: (_, x) => ({ aliasId: x.fresh }) }],

  'CheckpointService/CreateCheckpoint': [{ who: WRITE, request: (f, x) => ({ folderId: f.A, name: `made-${x.n}`, cells: { cells: ['y = 1'] }, servedCellIndex: 0 }) }],
  'CheckpointService/GetCheckpoint': [{ who: READ, request: (f) => ({ checkpointId: f.checkpoint }) }],
  'CheckpointService/ListCheckpoints': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'CheckpointService/DeleteCheckpoint': [{ who: WRITE, fresh: 'checkpoint', request: (_, x) => ({ checkpointId: x.fresh }) }],

  'OperationService/GetOperation': [{ who: READ, request: (f) => ({ operationId: f.operation }) }],
  'OperationService/ListOperations': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'OperationService/WaitOperation': [{ who: READ, request: (f) => ({ operationId: f.operation, timeout: '0s' }) }],
  'OperationService/CancelOperation': [{ who: WRITE, fresh: 'pending-operation', request: (_, x) => ({ operationId: x.fresh }) }],

  'SecretService/CreateSecret': [{ who: WRITE, request: (f, x) => ({ folderId: f.A, name: `made-${x.n}`, entries: [{ key: 'k', value: 'v' }] }) }],
  'SecretService/GetSecret': [{ who: READ, request: (f) => ({ secretId: f.secret }) }],
  'SecretService/ListSecrets': [{ who: READ, request: (f) => ({ folderId: f.A }) }],
  'SecretService/UpdateSecret': [{ who: WRITE, request: (f, x) => ({ secret: { id: f.secret, description: `changed ${x.n}` }, updateMask: 'description' }) }],
  'SecretService/AddSecretVersion': [{ who: WRITE, request: (f, x) => ({ secretId: f.secret, entries: [{ key: 'k', value: `v${x.n}` }] }) }],
  'SecretService/DeleteSecret': [{ who: WRITE, fresh: 'secret', request: (_, x) => ({ secretId: x.fresh }) }],

  'AuditService/ListAuditRecords': [{ who: ADMIN, request: (f) => ({ folderId: f.A }) }],

  'IamService/GetCaller': [{ who: ANYONE, request: () => ({}) }],
  'IamService/CreatePrincipal': [{ who: SERVER_ADMIN, request: (_, x) => ({ principal: { name: `made-${x.n}`, kind: 'PRINCIPAL_KIND_SERVICE_ACCOUNT' } }) }],
  'IamService/GetPrincipal': [
    { variant: 'itself', who: ANYONE, request: (_, x) => ({ principalId: x.me.principalId }) },
    { variant: 'a member of folder A', who: FOLDER_ADMINS, request: (f) => ({ principalId: f.member.principalId }) },
  ],
  'IamService/ListPrincipals': [{ who: ANYONE, request: () => ({}) }],
  'IamService/DeletePrincipal': [{ who: SERVER_ADMIN, request: (f) => ({ principalId: f.member.principalId }) }],
  'IamService/CreateKey': [
    { variant: 'for itself', who: ANYONE, request: (_, x) => ({ principalId: x.me.principalId, key: { description: `made ${x.n}` } }) },
    { variant: 'for a member of folder A', who: NO_ONE, request: (f, x) => ({ principalId: f.member.principalId, key: { description: `made ${x.n}` } }) },
  ],
  'IamService/ListKeys': [
    { variant: 'its own', who: ANYONE, request: (_, x) => ({ principalId: x.me.principalId }) },
    { variant: "a member's of folder A", who: NO_ONE, request: (f) => ({ principalId: f.member.principalId }) },
  ],
  'IamService/RevokeKey': [
    { variant: 'a spare key of its own', who: ANYONE, fresh: 'own-key', request: (_, x) => ({ keyId: x.fresh }) },
    { variant: "a member's key of folder A", who: NO_ONE, request: (f) => ({ keyId: f.member.keyId }) },
  ],
  'IamService/ListAccessBindings': [{ who: ADMIN, request: (f) => ({ folderId: f.A }) }],
  'IamService/UpdateAccessBindings': [
    { who: ADMIN, request: (f) => ({ folderId: f.A, deltas: [{ action: 'ACCESS_BINDING_ACTION_ADD', binding: { principalId: f.outsider, role: 'ROLE_VIEWER' } }] }) },
  ],
};

/** The node's generated API, outside the descriptor set: its typed gRPC service and its REST routes. */
const TYPED_GRPC: Row = CALL;
const TYPED_REST: Array<{ method: string; path: (f: Fixture) => string; body?: unknown; who: Row }> = [
  { method: 'GET', path: (f) => `/v1/nodes/${f.node}/api.proto`, who: READ },
  { method: 'GET', path: (f) => `/v1/nodes/${f.node}/openapi.json`, who: READ },
  { method: 'POST', path: (f) => `/v1/nodes/${f.node}/api:execute`, body: { x: 1 }, who: CALL },
];

const EXPECTED: Record<Outcome | 'unauthenticated', { code: Code; http: number }> = {
  ok: { code: Code.OK, http: 200 },
  denied: { code: Code.PERMISSION_DENIED, http: 403 },
  hidden: { code: Code.NOT_FOUND, http: 404 },
  unauthenticated: { code: Code.UNAUTHENTICATED, http: 401 },
};

const METHODS = allMethods();

/** A caller of the matrix: its headers, and its place in a Row (none for the unauthenticated). */
interface MatrixCaller {
  name: string;
  headers: Record<string, string>;
  row?: number;
  key?: KeyHolder;
}

it('every row of the matrix names a method Berth serves', () => {
  const served = new Set(METHODS.map((m) => m.key));
  assert.deepEqual(Object.keys(CASES).filter((key) => !served.has(key)), []);
});

for (const db of DATABASES) {
  describe(`access matrix on ${db}`, () => {
    let t: TestBerth | undefined;
    let iam: IamSetup;
    let f: Fixture;
    let callers: MatrixCaller[] = [];
    let methods: MethodCaller;
    let typed: TypedClient;
    const pools = new Map<Fresh, string[]>();
    let counter = 0;

    const wait = async (operationId: string): Promise<any> => {
      const op = await iam.call('POST', `/v1/operations/${operationId}:wait`, { timeout: '60s' });
      assert.equal(op.done, true, JSON.stringify(op));
      assert.equal(op.error, undefined, JSON.stringify(op.error));
      return op;
    };
    const capture = (cells: string[], served: number, folderId = f.A) =>
      iam.call('POST', '/v1/checkpoints', { folderId, name: `cp-${++counter}`, cells: { cells }, servedCellIndex: served });
    const makeNodeIn = async (folderId: string): Promise<string> => {
      const checkpoint = folderId === f.A ? f.checkpoint : (await wait((await capture(['y = 0', 'y = x + 1'], 1, folderId)).id)).resourceId;
      return (await wait((await iam.call('POST', '/v1/nodes', { folderId, name: `spare-${++counter}`, spec: nodeSpec(checkpoint, 0) })).id)).resourceId;
    };
    const makeNode = async (suspended: boolean): Promise<string> => {
      const nodeId = await makeNodeIn(f.A);
      if (suspended) await wait((await iam.call('POST', `/v1/nodes/${nodeId}:suspend`, {})).id);
      return nodeId;
    };
    const makers: Record<Exclude<Fresh, 'own-key'>, () => Promise<string>> = {
      node: () => makeNode(false),
      'suspended-node': () => makeNode(true),
      alias: async () => (await iam.call('POST', '/v1/aliases', { folderId: f.A, name: `spare-${++counter}`, targets: [{ nodeId: f.node, weight: 100 }] })).id,
      checkpoint: async () => (await wait((await capture(['y = 1'], 0)).id)).resourceId,
      secret: async () => (await iam.call('POST', '/v1/secrets', { folderId: f.A, name: `spare-${++counter}`, entries: [{ key: 'k', value: 'v' }] })).id,
      'pending-operation': async () => (await capture(['import time\ntime.sleep(600)', 'y = 1'], 1)).id,
    };

    before(async () => {
      t = await startTestBerth(db, { auth: 'keys', checkpointQuota: 1000 });
      if (!t) return;
      iam = await new IamSetup(t).init();
      const A = await iam.folder('folder-a');
      const B = await iam.folder('folder-b');
      f = { A, B } as Fixture;
      // Expires while the rest is set up.
      const expiring = await iam.member('expiring', [[A, 'admin']]);
      const expired = await iam.key(expiring.principalId, 'expired', { expireTime: new Date(Date.now() + 3000).toISOString() });

      const cp = await wait((await capture(['y = 0', 'y = x + 1'], 1)).id);
      f.checkpoint = cp.resourceId;
      const node = await wait((await iam.call('POST', '/v1/nodes', { folderId: A, name: 'shared', spec: nodeSpec(f.checkpoint, 1) })).id);
      f.node = node.resourceId;
      f.operation = node.id;
      const alias = await iam.call('POST', '/v1/aliases', { folderId: A, name: 'shared', targets: [{ nodeId: f.node, weight: 100 }] });
      f.alias = { id: alias.id, name: alias.name };
      f.pending = await makers['pending-operation']();
      f.secret = await makers.secret();
      const member = await iam.principal('member-of-a', 'service_account');
      await iam.grant(A, member, 'user');
      f.member = { principalId: member, keyId: (await iam.key(member, 'member')).keyId };
      f.outsider = await iam.principal('outsider');

      const viewer = await iam.member('viewer-of-a', [[A, 'viewer']]);
      const user = await iam.member('user-of-a', [[A, 'user']]);
      const developer = await iam.member('developer-of-a', [[A, 'developer']]);
      const admin = await iam.member('admin-of-a', [[A, 'admin']]);
      const adminB = await iam.member('admin-of-b', [[B, 'admin']]);
      const revoked = await iam.key(admin.principalId, 'revoked');
      await iam.revoke(revoked.keyId);
      await waitFor('the expired key to be refused', async () => (await rest(t!.http, 'GET', '/v1/caller', undefined, expired.headers)).status === 401, 10_000);
      callers = [
        { name: 'no key', headers: {} },
        { name: 'a malformed header', headers: authHeaders('Basic YWRtaW46YWRtaW4=') },
        { name: 'a key that is not a Berth key', headers: authHeaders('Bearer not-a-berth-key') },
        { name: 'a forged key', headers: authHeaders(`Bearer berth_${admin.keyId}_${'A'.repeat(43)}`) },
        { name: 'a revoked key', headers: revoked.headers },
        { name: 'an expired key', headers: expired.headers },
        ...[viewer, user, developer, admin, adminB].map((key, row) => ({ name: key.name, headers: key.headers, row, key })),
      ];

      // Throwaways for the calls expected to succeed on methods that consume their target (two per caller: gRPC and REST).
      const need = new Map<Exclude<Fresh, 'own-key'>, number>();
      for (const cases of Object.values(CASES))
        for (const c of cases) if (c.fresh && c.fresh !== 'own-key') need.set(c.fresh, (need.get(c.fresh) ?? 0) + 2 * c.who.filter((o) => o === 'ok').length);
      await Promise.all([...need].map(async ([kind, n]) => pools.set(kind, await Promise.all(Array.from({ length: n }, () => makers[kind]())))));

      methods = new MethodCaller(t.grpc, t.http);
      const api = await iam.call('GET', `/v1/nodes/${f.node}/api`);
      typed = typedClient(t.grpc, api.protoFile, api.service);
    });

    after(async () => {
      methods?.close();
      typed?.close();
      if (!t) return;
      // End the sleeping captures, and the shared node's instance: process instances outlive Berth by design.
      for (const op of [f.pending, ...(pools.get('pending-operation') ?? [])]) await rest(t.http, 'POST', `/v1/operations/${op}:cancel`, {}, iam.admin.headers);
      if (f.node) await wait((await iam.call('POST', `/v1/nodes/${f.node}:suspend`, {})).id);
      await t.close();
    });

    /** Checks one answer; returns what is wrong with it, if anything. */
    const judge = (label: string, expected: Outcome | 'unauthenticated', got: Answer): string | undefined => {
      const want = EXPECTED[expected];
      if (got.code === want.code && (got.http === undefined || got.http === want.http)) return undefined;
      return `${label}: expected ${Code[want.code]}${got.http !== undefined ? `/${want.http}` : ''}, got ${Code[got.code]}${got.http !== undefined ? `/${got.http}` : ''} (${got.message})`;
    };

    /** The ids of folder A's resources in a request, each with a made-up id of the same kind. */
    const phantoms = (): Array<[string, string]> =>
      [f.A, f.node, f.alias.id, f.checkpoint, f.operation, f.pending].map((id, i) => [id, `${id.slice(0, 2)}${'0'.repeat(id.length - 3)}${i}`]);
    const swap = (text: string, pairs: Array<[string, string]>, back = false) => pairs.reduce((s, [real, fake]) => (back ? s.replaceAll(fake, real) : s.replaceAll(real, fake)), text);

    // Methods that consume their targets last: a wrong success there cannot spoil the other rows.
    const ordered = [...METHODS].sort((a, b) => Number(CASES[a.key]?.some((c) => c.fresh) ?? false) - Number(CASES[b.key]?.some((c) => c.fresh) ?? false));
    for (const m of ordered) {
      it(`${m.key} (${m.http.method} ${m.http.path})`, async (ctx) => {
        if (!t) return ctx.skip('PostgreSQL is not available');
        const cases = CASES[m.key];
        assert.ok(cases, `${m.key} has no row in the access matrix: add what each role may do`);
        const wrong: string[] = [];
        for (const c of cases) {
          for (const caller of callers) {
            const outcome = caller.row === undefined ? 'unauthenticated' : c.who[caller.row]!;
            for (const transport of ['gRPC', 'REST'] as const) {
              let fresh = '';
              if (c.fresh === 'own-key') fresh = outcome === 'ok' ? (await iam.key(caller.key!.principalId, `spare-${++counter}`)).keyId : f.member.keyId;
              else if (c.fresh) fresh = outcome === 'ok' ? pools.get(c.fresh)!.pop()! : sharedTarget(c.fresh, f);
              const json = c.request(f, { fresh, me: caller.key ?? iam.admin, n: ++counter });
              const label = `${transport} ${caller.name}${c.variant ? ` (${c.variant})` : ''}`;
              const call = (body: JsonObject) => (transport === 'gRPC' ? methods.grpc(m, body, caller.headers) : methods.rest(m, body, caller.headers));
              const got = await call(json);
              const problem = judge(label, outcome, got);
              if (problem) wrong.push(problem);
              // Folder B's admin must hear exactly what it would for resources that do not exist.
              if (caller.row === 4 && outcome !== 'ok') {
                const pairs = phantoms();
                const text = JSON.stringify(json);
                if (pairs.some(([real]) => text.includes(real))) {
                  const ghost = await call(JSON.parse(swap(text, pairs)) as JsonObject);
                  const same = ghost.code === got.code && ghost.http === got.http && swap(JSON.stringify(ghost.body ?? ghost.message), pairs, true) === JSON.stringify(got.body ?? got.message);
                  if (!same) wrong.push(`${label}: answers differently for folder A's resources (${got.message}) than for made-up ones (${ghost.message})`);
                }
              }
            }
          }
        }
        assert.deepEqual(wrong, [], wrong.join('\n'));
      });
    }

    it('the node\'s typed gRPC service and typed REST routes', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const wrong: string[] = [];
      for (const caller of callers) {
        const expected = (row: Row) => (caller.row === undefined ? 'unauthenticated' : row[caller.row]!);
        const got = await typed.execute({ x: 1 }, caller.headers).then(
          (): Answer => ({ code: Code.OK, message: '' }),
          (err: ServiceError): Answer => ({ code: err.code, message: err.details }),
        );
        const problem = judge(`typed gRPC ${typed.service}/Execute, ${caller.name}`, expected(TYPED_GRPC), got);
        if (problem) wrong.push(problem);
        for (const route of TYPED_REST) {
          const res = await fetch(`${t.http}${route.path(f)}`, {
            method: route.method,
            headers: { 'content-type': 'application/json', ...caller.headers },
            body: route.body === undefined ? undefined : JSON.stringify(route.body),
          });
          const text = await res.text();
          const code = res.status === 200 ? Code.OK : (JSON.parse(text).code as Code);
          const p = judge(`${route.method} ${route.path(f)}, ${caller.name}`, expected(route.who), { code, http: res.status, message: text.slice(0, 200) });
          if (p) wrong.push(p);
        }
      }
      assert.deepEqual(wrong, [], wrong.join('\n'));
    });

    it("refuses references to folder A's resources from folder B as if they did not exist", async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const adminB = callers.find((c) => c.row === 4)!;
      const nodeB = await makeNodeIn(f.B);
      const aliasB = await iam.call('POST', '/v1/aliases', { folderId: f.B, name: 'own', targets: [{ nodeId: nodeB, weight: 100 }] });
      const method = (key: string) => METHODS.find((m) => m.key === key)!;
      const refs: Array<[key: string, request: JsonObject]> = [
        ['NodeService/CreateNode', { node: { folderId: f.B, name: 'borrowed', spec: nodeSpec(f.checkpoint, 0) } }],
        ['AliasService/CreateAlias', { alias: { folderId: f.B, name: 'borrowed', targets: [{ nodeId: f.node, weight: 100 }] } }],
        ['AliasService/UpdateAlias', { alias: { id: aliasB.id, targets: [{ nodeId: f.node, weight: 100 }] }, updateMask: 'targets' }],
      ];
      const wrong: string[] = [];
      for (const [key, json] of refs) {
        for (const transport of ['gRPC', 'REST'] as const) {
          const m = method(key);
          const call = (body: JsonObject) => (transport === 'gRPC' ? methods.grpc(m, body, adminB.headers) : methods.rest(m, body, adminB.headers));
          const got = await call(json);
          const problem = judge(`${transport} ${key}`, 'hidden', got);
          if (problem) wrong.push(problem);
          const pairs = phantoms();
          const ghost = await call(JSON.parse(swap(JSON.stringify(json), pairs)) as JsonObject);
          if (swap(JSON.stringify(ghost.body ?? ghost.message), pairs, true) !== JSON.stringify(got.body ?? got.message) || ghost.code !== got.code)
            wrong.push(`${transport} ${key}: answers differently for folder A's resource (${got.message}) than for a made-up one (${ghost.message})`);
        }
      }
      assert.deepEqual(wrong, [], wrong.join('\n'));
      // A server admin, who sees both folders, is told what is wrong.
      const told = await rest(t.http, 'POST', '/v1/aliases', { folderId: f.B, name: 'borrowed', targets: [{ nodeId: f.node, weight: 100 }] }, iam.admin.headers);
      assert.equal(told.status, 400, JSON.stringify(told.body));
      assert.match(told.body.message, /not in the alias's folder/);
    });

    it('lists show each caller only what it may see', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      for (const caller of callers.filter((c) => c.row !== undefined)) {
        const folders = await rest(t.http, 'GET', '/v1/folders', undefined, caller.headers);
        assert.equal(folders.status, 200, JSON.stringify(folders.body));
        const ids = (folders.body.folders as Array<{ id: string }>).map((x) => x.id);
        assert.deepEqual(ids, [caller.row === 4 ? f.B : f.A], `${caller.name} lists folders ${ids.join(', ')}`);

        const me = await rest(t.http, 'GET', '/v1/caller', undefined, caller.headers);
        assert.deepEqual(Object.keys(me.body.roles), [caller.row === 4 ? f.B : f.A], `${caller.name}'s roles`);

        const principals = await rest(t.http, 'GET', '/v1/principals?pageSize=1000', undefined, caller.headers);
        const listed = (principals.body.principals as Array<{ id: string }>).map((p) => p.id);
        if (caller.row === 3 || caller.row === 4) assert.ok(listed.length > 2 && listed.includes(f.member.principalId), `a folder admin finds principals to grant roles to`);
        else assert.deepEqual(listed, [caller.key!.principalId], `${caller.name} sees only itself`);
      }
      // What folder B's admin lists in its own folder holds nothing of folder A.
      const adminB = callers.find((c) => c.row === 4)!;
      const own = [f.A, f.node, f.alias.id, f.checkpoint, f.operation];
      for (const p of ['/v1/nodes', '/v1/aliases', '/v1/checkpoints', '/v1/operations']) {
        const res = await rest(t.http, 'GET', `${p}?folderId=${f.B}`, undefined, adminB.headers);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const text = JSON.stringify(res.body);
        for (const id of own) assert.ok(!text.includes(id), `${p} of folder B shows ${id} of folder A: ${text}`);
      }
      // Keys never carry their secrets once created.
      const keys = await rest(t.http, 'GET', `/v1/principals/${f.member.principalId}/keys`, undefined, iam.admin.headers);
      assert.equal(keys.status, 200);
      assert.ok(!JSON.stringify(keys.body).includes('berth_'), JSON.stringify(keys.body));
    });
  });
}
