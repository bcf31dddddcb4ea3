import assert, { AssertionError } from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { CreateAliasRequest, DeleteAliasRequest, GetAliasRequest, UpdateAliasRequest } from '../../gen/berth/v1/alias_service';
import { CreateFolderRequest, DeleteFolderRequest, GetFolderRequest, UpdateFolderRequest } from '../../gen/berth/v1/folder_service';
import { EndpointType, VariableType, type Node } from '../../gen/berth/v1/node';
import { CreateNodeRequest, DeleteNodeRequest, GetNodeRequest, ListNodesRequest, UpdateNodeRequest } from '../../gen/berth/v1/node_service';
import { CancelOperationRequest, GetOperationRequest, ListOperationsRequest, WaitOperationRequest } from '../../gen/berth/v1/operation_service';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, grpcViolations, unary } from '../helpers/grpc';
import { rest, restViolations } from '../helpers/rest';

type Clients = ReturnType<typeof clients>;
type DeepPartial<T> = T extends Date ? T : T extends Array<infer U> ? Array<DeepPartial<U>> : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** A refused call, the same shape whichever transport made it. */
interface Refusal {
  code: number;
  message: string;
  fields: string[];
}

const httpEndpoint = { type: 'ENDPOINT_TYPE_HTTP', port: 8080 };
const restNode = (folderId: string, name: string, spec: Record<string, unknown> = {}) => ({
  folderId,
  name,
  spec: { docker: { image: 'berth-test-http:latest', endpoint: httpEndpoint }, ...spec },
});
const grpcNode = (folderId: string, name: string, spec: DeepPartial<NonNullable<Node['spec']>> = {}): DeepPartial<Node> => ({
  folderId,
  name,
  spec: { docker: { image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 } }, ...spec },
});

for (const db of DATABASES) {
  describe(`bad input on ${db}: refused with the field named, nothing stored`, () => {
    let t: TestBerth | undefined;
    let c: Clients;
    before(async () => {
      t = await startTestBerth(db);
      if (t) c = clients(t.grpc);
    });
    after(async () => {
      c?.close();
      await t?.close();
    });

    const h = () => t!.http;

    /** Expects a REST refusal with this HTTP status and the google.rpc.Status body. */
    async function viaRest(method: string, path: string, body: unknown, status: number): Promise<Refusal> {
      const res = await rest(h(), method, path, body);
      assert.equal(res.status, status, `${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(Object.keys(res.body).sort(), ['code', 'details', 'message'], JSON.stringify(res.body));
      assert.equal(typeof res.body.code, 'number');
      assert.ok(Array.isArray(res.body.details));
      return { code: res.body.code, message: res.body.message, fields: restViolations(res.body) };
    }

    /** Expects a gRPC call of a generated client to fail. */
    async function viaGrpc(client: object, method: string, request: unknown): Promise<Refusal> {
      try {
        const res = await unary(client, method, request);
        throw new AssertionError({ message: `${method} was accepted: ${JSON.stringify(res)}` });
      } catch (err) {
        if (err instanceof AssertionError) throw err;
        const e = err as ServiceError;
        return { code: e.code, message: e.details, fields: grpcViolations(e) };
      }
    }

    /** What is stored in the given folders (and which folders exist), as the API shows it. */
    function watch(...folderIds: string[]): () => Promise<unknown> {
      return async () => {
        const folders = await rest(h(), 'GET', '/v1/folders?page_size=1000');
        const out: Record<string, unknown> = { folders: folders.body.folders };
        for (const id of folderIds) {
          const nodes = await rest(h(), 'GET', `/v1/nodes?folder_id=${id}&page_size=1000`);
          const aliases = await rest(h(), 'GET', `/v1/aliases?folder_id=${id}&page_size=1000`);
          const ops = await rest(h(), 'GET', `/v1/operations?folder_id=${id}&page_size=1000`);
          // The observed status is the supervisor's; everything a caller can write is compared.
          out[id] = {
            nodes: nodes.body.nodes.map((n: any) => ({ ...n, status: undefined })),
            aliases: aliases.body.aliases,
            operations: ops.body.operations.map((o: any) => o.id),
          };
        }
        return out;
      };
    }

    /**
     * Runs a call that must be refused with `code`, naming `field` in a
     * BadRequest violation (a string, or a pattern for a family of fields), and
     * checks that nothing stored changed.
     */
    async function refused(
      snapshot: () => Promise<unknown>,
      call: () => Promise<Refusal>,
      code: Code,
      field?: string | RegExp,
      names?: string | RegExp,
    ): Promise<Refusal> {
      const beforeState = await snapshot();
      const r = await call();
      assert.equal(r.code, code, `expected ${Code[code]}, got ${Code[r.code]}: ${r.message}`);
      assert.ok(r.message.length > 0, 'the message is empty');
      if (field !== undefined) {
        const hit = r.fields.find((f) => (typeof field === 'string' ? f === field : field.test(f)));
        assert.ok(hit, `no violation of ${field} in ${JSON.stringify(r.fields)} (${r.message})`);
        if (code === Code.INVALID_ARGUMENT) assert.ok(r.message.includes(hit), `the message ${JSON.stringify(r.message)} does not name ${hit}`);
      }
      if (names !== undefined) {
        if (typeof names === 'string') assert.ok(r.message.includes(names), `the message ${JSON.stringify(r.message)} does not name ${names}`);
        else assert.match(r.message, names);
      }
      assert.deepEqual(await snapshot(), beforeState, 'a refused request changed what is stored');
      return r;
    }

    async function mkFolder(name: string): Promise<any> {
      const r = await rest(h(), 'POST', '/v1/folders', { name, labels: { env: 'dev' }, description: 'd' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    }
    async function mkNode(folderId: string, name: string): Promise<any> {
      const r = await rest(h(), 'POST', '/v1/nodes', restNode(folderId, name));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const node = await rest(h(), 'GET', `/v1/nodes/${r.body.resourceId}`);
      return node.body;
    }
    async function mkAlias(folderId: string, name: string, targets: Array<{ nodeId: string; weight: number }>): Promise<any> {
      const r = await rest(h(), 'POST', '/v1/aliases', { folderId, name, targets });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    }

    it('refuses a malformed JSON body with 400 / INVALID_ARGUMENT naming body', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('malformed');
      const s = watch(f.id);
      for (const [method, path, body] of [
        ['POST', '/v1/folders', '{"name": '],
        ['POST', '/v1/folders', '{"name": "x"} trailing'],
        ['POST', '/v1/folders', "{'name': 'x'}"],
        ['POST', '/v1/nodes', 'not json at all'],
        ['PATCH', `/v1/folders/${f.id}`, '{"description": "x",}'],
        ['PATCH', `/v1/nodes/ndwhatever?update_mask=description`, '{'],
        ['POST', '/v1/operations/opx:wait', '[1,'],
      ] as const) {
        const r = await refused(s, () => viaRest(method, path, body, 400), Code.INVALID_ARGUMENT, 'body', /not valid JSON/);
        assert.deepEqual(r.fields, ['body']);
      }
      // Valid JSON that is not an object where the whole request is the body.
      await refused(s, () => viaRest('POST', '/v1/operations/opx:wait', '[1]', 400), Code.INVALID_ARGUMENT, 'body');
      // No body where one is required.
      await refused(s, () => viaRest('POST', '/v1/folders', undefined, 400), Code.INVALID_ARGUMENT, 'folder');
      await refused(s, () => viaGrpc(c.folders, 'createFolder', CreateFolderRequest.fromPartial({})), Code.INVALID_ARGUMENT, 'folder');
      await refused(s, () => viaGrpc(c.nodes, 'createNode', CreateNodeRequest.fromPartial({})), Code.INVALID_ARGUMENT, 'node');
      await refused(s, () => viaGrpc(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({})), Code.INVALID_ARGUMENT, 'alias');
    });

    it('refuses values of the wrong type, naming the field by its path in the request', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('wrong-types');
      const node = await mkNode(f.id, 'web');
      const s = watch(f.id);
      const cases: Array<[method: string, path: string, body: unknown, field: string]> = [
        ['POST', '/v1/folders', { name: 5 }, 'folder.name'],
        ['POST', '/v1/folders', { name: 'ok-name', labels: { env: 5 } }, 'folder.labels.env'],
        ['POST', '/v1/folders', { name: 'ok-name', labels: ['env'] }, 'folder.labels'],
        ['POST', '/v1/folders', [{ name: 'ok-name' }], 'folder'],
        ['POST', '/v1/folders', '"ok-name"', 'folder'],
        ['POST', '/v1/nodes', restNode(f.id, 'n1', { instanceRange: { min: 'x' } }), 'node.spec.instance_range.min'],
        ['POST', '/v1/nodes', restNode(f.id, 'n1', { instance_range: { max: 1.5 } }), 'node.spec.instance_range.max'],
        ['POST', '/v1/nodes', restNode(f.id, 'n1', { maintenanceLimit: true }), 'node.spec.maintenance_limit'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), spec: { docker: { image: 'x', endpoint: { type: 'ENDPOINT_TYPE_SOAP', port: 80 } } } }, 'node.spec.docker.endpoint.type'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), spec: { docker: { image: 'x', endpoint: { ...httpEndpoint, timeout: 'soon' } } } }, 'node.spec.docker.endpoint.timeout'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), spec: { docker: { image: 'x', endpoint: httpEndpoint, env: { A: 1 } } } }, 'node.spec.docker.env.A'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), spec: { docker: { image: 'x', endpoint: httpEndpoint, command: ['serve', 8] } } }, 'node.spec.docker.command[1]'],
        ['POST', '/v1/aliases', { folderId: f.id, name: 'a', targets: [{ nodeId: node.id, weight: 'all' }] }, 'alias.targets[0].weight'],
        ['POST', '/v1/aliases', { folderId: f.id, name: 'a', targets: { nodeId: node.id, weight: 100 } }, 'alias.targets'],
        ['PATCH', `/v1/folders/${f.id}`, { description: 7 }, 'folder.description'],
        ['PATCH', `/v1/nodes/${node.id}`, { spec: { instanceRange: { max: 'six' } } }, 'node.spec.instance_range.max'],
        ['GET', `/v1/nodes?folder_id=${f.id}&page_size=abc`, undefined, 'page_size'],
        ['POST', '/v1/operations/opx:wait', { timeout: 5 }, 'timeout'],
      ];
      for (const [method, path, body, field] of cases) {
        await refused(s, () => viaRest(method, path, body, 400), Code.INVALID_ARGUMENT, field);
      }
      // Over gRPC a type is always right; an enum number outside the enum is the same mistake.
      await refused(
        s,
        () => viaGrpc(c.nodes, 'createNode', CreateNodeRequest.fromPartial({ node: grpcNode(f.id, 'n1', { docker: { image: 'x', endpoint: { type: 99 as EndpointType, port: 80 } } }) })),
        Code.INVALID_ARGUMENT,
        'node.spec.docker.endpoint.type',
      );
      await refused(
        s,
        () =>
          viaGrpc(
            c.nodes,
            'createNode',
            CreateNodeRequest.fromPartial({
              node: { folderId: f.id, name: 'n1', spec: { checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: 'y', type: VariableType.VARIABLE_TYPE_UNSPECIFIED }] } } },
            }),
          ),
        Code.INVALID_ARGUMENT,
        'node.spec.checkpoint.output_variables[0].type',
      );
    });

    it('refuses unknown JSON fields and query parameters, naming them', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('unknown-fields');
      const node = await mkNode(f.id, 'web');
      const s = watch(f.id);
      const cases: Array<[method: string, path: string, body: unknown, field: string]> = [
        ['POST', '/v1/folders', { name: 'ok-name', colour: 'red' }, 'folder.colour'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), replicas: 3 }, 'node.replicas'],
        ['POST', '/v1/nodes', { ...restNode(f.id, 'n1'), spec: { docker: { image: 'x', endpoint: { ...httpEndpoint, protocol: 'h2' } } } }, 'node.spec.docker.endpoint.protocol'],
        ['POST', '/v1/aliases', { folderId: f.id, name: 'a', targets: [{ nodeId: node.id, weight: 100, sticky: true }] }, 'alias.targets[0].sticky'],
        ['PATCH', `/v1/folders/${f.id}`, { descripton: 'typo' }, 'folder.descripton'],
        ['PATCH', `/v1/nodes/${node.id}?update_mask=description`, { description: 'x', colour: 'red' }, 'node.colour'],
        ['GET', `/v1/nodes?folder_id=${f.id}&colour=red`, undefined, 'colour'],
        ['GET', `/v1/folders/${f.id}?verbose=true`, undefined, 'verbose'],
        ['POST', '/v1/operations/opx:wait', { timeout: '1s', deadline: '2s' }, 'deadline'],
      ];
      for (const [method, path, body, field] of cases) {
        await refused(s, () => viaRest(method, path, body, 400), Code.INVALID_ARGUMENT, field);
      }
    });

    it('refuses bad names of folders, nodes and aliases with a BadRequest naming the field', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('bad-names');
      const node = await mkNode(f.id, 'web');
      const alias = await mkAlias(f.id, 'prod', [{ nodeId: node.id, weight: 100 }]);
      const s = watch(f.id);
      for (const name of ['Team_A', '-x', 'x-', '9lives', 'a'.repeat(64), 'has space', '']) {
        const expected = name === '' ? /is required/ : /not a lowercase DNS label/;
        await refused(s, () => viaRest('POST', '/v1/folders', { name }, 400), Code.INVALID_ARGUMENT, 'folder.name', expected);
        await refused(s, () => viaGrpc(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name } })), Code.INVALID_ARGUMENT, 'folder.name', expected);
        await refused(s, () => viaRest('POST', '/v1/nodes', restNode(f.id, name), 400), Code.INVALID_ARGUMENT, 'node.name', expected);
        await refused(s, () => viaGrpc(c.nodes, 'createNode', CreateNodeRequest.fromPartial({ node: grpcNode(f.id, name) })), Code.INVALID_ARGUMENT, 'node.name', expected);
        const aliasBody = { folderId: f.id, name, targets: [{ nodeId: node.id, weight: 100 }] };
        await refused(s, () => viaRest('POST', '/v1/aliases', aliasBody, 400), Code.INVALID_ARGUMENT, 'alias.name', expected);
        await refused(s, () => viaGrpc(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: aliasBody })), Code.INVALID_ARGUMENT, 'alias.name', expected);
        // Renames are checked the same way.
        await refused(s, () => viaRest('PATCH', `/v1/folders/${f.id}`, { name }, 400), Code.INVALID_ARGUMENT, 'folder.name', expected);
        await refused(
          s,
          () => viaGrpc(c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: f.id, name }, updateMask: ['name'] })),
          Code.INVALID_ARGUMENT,
          'folder.name',
          expected,
        );
        await refused(s, () => viaRest('PATCH', `/v1/nodes/${node.id}`, { name }, 400), Code.INVALID_ARGUMENT, 'node.name', expected);
        await refused(
          s,
          () => viaGrpc(c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id, name }, updateMask: ['name'] })),
          Code.INVALID_ARGUMENT,
          'node.name',
          expected,
        );
        await refused(s, () => viaRest('PATCH', `/v1/aliases/${alias.id}`, { name }, 400), Code.INVALID_ARGUMENT, 'alias.name', expected);
        await refused(
          s,
          () => viaGrpc(c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id, name }, updateMask: ['name'] })),
          Code.INVALID_ARGUMENT,
          'alias.name',
          expected,
        );
      }
      // Labels are checked key by key.
      await refused(s, () => viaRest('POST', '/v1/folders', { name: 'labelled', labels: { Env: 'x' } }, 400), Code.INVALID_ARGUMENT, 'folder.labels.Env');
      await refused(s, () => viaRest('PATCH', `/v1/nodes/${node.id}`, { labels: { team: 'a b' } }, 400), Code.INVALID_ARGUMENT, 'node.labels.team');
    });

    it('refuses duplicate names with 409 / ALREADY_EXISTS, on create and on rename', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('dups');
      const g = await mkFolder('dups-other');
      const web = await mkNode(f.id, 'web');
      const api = await mkNode(f.id, 'api');
      const prod = await mkAlias(f.id, 'prod', [{ nodeId: web.id, weight: 100 }]);
      const canary = await mkAlias(f.id, 'canary', [{ nodeId: api.id, weight: 100 }]);
      const s = watch(f.id, g.id);
      await refused(s, () => viaRest('POST', '/v1/folders', { name: 'dups' }, 409), Code.ALREADY_EXISTS, undefined, '"dups"');
      await refused(s, () => viaGrpc(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'dups' } })), Code.ALREADY_EXISTS, undefined, '"dups"');
      await refused(s, () => viaRest('POST', '/v1/folders', { name: 'default' }, 409), Code.ALREADY_EXISTS);
      await refused(s, () => viaRest('PATCH', `/v1/folders/${g.id}`, { name: 'dups' }, 409), Code.ALREADY_EXISTS, undefined, '"dups"');
      await refused(
        s,
        () => viaGrpc(c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: g.id, name: 'dups' }, updateMask: ['name'] })),
        Code.ALREADY_EXISTS,
      );
      await refused(s, () => viaRest('POST', '/v1/nodes', restNode(f.id, 'web'), 409), Code.ALREADY_EXISTS, undefined, '"web"');
      await refused(s, () => viaGrpc(c.nodes, 'createNode', CreateNodeRequest.fromPartial({ node: grpcNode(f.id, 'web') })), Code.ALREADY_EXISTS, undefined, '"web"');
      await refused(s, () => viaRest('PATCH', `/v1/nodes/${api.id}`, { name: 'web' }, 409), Code.ALREADY_EXISTS, undefined, '"web"');
      await refused(s, () => viaGrpc(c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: api.id, name: 'web' }, updateMask: ['name'] })), Code.ALREADY_EXISTS);
      await refused(s, () => viaRest('POST', '/v1/aliases', { folderId: f.id, name: 'prod', targets: [{ nodeId: api.id, weight: 100 }] }, 409), Code.ALREADY_EXISTS, undefined, '"prod"');
      await refused(
        s,
        () => viaGrpc(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: f.id, name: 'prod', targets: [{ nodeId: api.id, weight: 100 }] } })),
        Code.ALREADY_EXISTS,
      );
      await refused(s, () => viaRest('PATCH', `/v1/aliases/${canary.id}`, { name: 'prod' }, 409), Code.ALREADY_EXISTS, undefined, '"prod"');
      assert.ok(prod.id);
      // Names are unique per folder, not across folders.
      const elsewhere = await rest(h(), 'POST', '/v1/nodes', restNode(g.id, 'web'));
      assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
    });

    it('answers 404 / NOT_FOUND for unknown ids, naming the request field', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('unknown-ids');
      const node = await mkNode(f.id, 'web');
      const s = watch(f.id);
      const rests: Array<[method: string, path: string, body: unknown, field: string, id: string]> = [
        ['GET', '/v1/nodes/ndnope', undefined, 'node_id', 'ndnope'],
        ['DELETE', '/v1/nodes/ndnope', undefined, 'node_id', 'ndnope'],
        ['PATCH', '/v1/nodes/ndnope', { description: 'x' }, 'node.id', 'ndnope'],
        ['POST', '/v1/nodes/ndnope:suspend', {}, 'node_id', 'ndnope'],
        ['GET', '/v1/nodes/ndnope/instances', undefined, 'node_id', 'ndnope'],
        ['GET', '/v1/folders/flnope', undefined, 'folder_id', 'flnope'],
        ['DELETE', '/v1/folders/flnope', undefined, 'folder_id', 'flnope'],
        ['PATCH', '/v1/folders/flnope', { description: 'x' }, 'folder.id', 'flnope'],
        ['GET', '/v1/aliases/alnope', undefined, 'alias_id', 'alnope'],
        ['DELETE', '/v1/aliases/alnope', undefined, 'alias_id', 'alnope'],
        ['PATCH', '/v1/aliases/alnope', { description: 'x' }, 'alias.id', 'alnope'],
        ['GET', '/v1/operations/opnope', undefined, 'operation_id', 'opnope'],
        ['POST', '/v1/operations/opnope:wait', {}, 'operation_id', 'opnope'],
        ['POST', '/v1/operations/opnope:cancel', {}, 'operation_id', 'opnope'],
        ['GET', '/v1/checkpoints/cpnope', undefined, 'checkpoint_id', 'cpnope'],
        ['GET', '/v1/nodes?folder_id=flnope', undefined, 'folder_id', 'flnope'],
        ['GET', '/v1/aliases?folder_id=flnope', undefined, 'folder_id', 'flnope'],
        ['POST', '/v1/nodes', restNode('flnope', 'web'), 'node.folder_id', 'flnope'],
        ['POST', '/v1/aliases', { folderId: f.id, name: 'a', targets: [{ nodeId: 'ndnope', weight: 100 }] }, 'alias.targets[0].node_id', 'ndnope'],
        ['POST', '/v1/aliases', { folderId: f.id, name: 'a', targets: [{ nodeId: node.id, weight: 50 }, { nodeId: 'ndnope', weight: 50 }] }, 'alias.targets[1].node_id', 'ndnope'],
        ['POST', '/v1/aliases', { folderId: 'flnope', name: 'a', targets: [{ nodeId: node.id, weight: 100 }] }, 'alias.folder_id', 'flnope'],
        ['POST', '/v1/aliases/nope:execute', { folderId: f.id }, 'alias_name', 'nope'],
      ];
      for (const [method, path, body, field, id] of rests) {
        await refused(s, () => viaRest(method, path, body, 404), Code.NOT_FOUND, field, id);
      }
      const grpcs: Array<[client: object, method: string, request: unknown, field: string, id: string]> = [
        [c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: 'ndnope' }), 'node_id', 'ndnope'],
        [c.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId: 'ndnope' }), 'node_id', 'ndnope'],
        [c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: 'ndnope', description: 'x' }, updateMask: ['description'] }), 'node.id', 'ndnope'],
        [c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: 'flnope' }), 'folder_id', 'flnope'],
        [c.nodes, 'createNode', CreateNodeRequest.fromPartial({ node: grpcNode('flnope', 'web') }), 'node.folder_id', 'flnope'],
        [c.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId: 'flnope' }), 'folder_id', 'flnope'],
        [c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId: 'flnope' }), 'folder_id', 'flnope'],
        [c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: 'flnope', description: 'x' }, updateMask: ['description'] }), 'folder.id', 'flnope'],
        [c.aliases, 'getAlias', GetAliasRequest.fromPartial({ aliasId: 'alnope' }), 'alias_id', 'alnope'],
        [c.aliases, 'deleteAlias', DeleteAliasRequest.fromPartial({ aliasId: 'alnope' }), 'alias_id', 'alnope'],
        [c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: 'alnope', description: 'x' }, updateMask: ['description'] }), 'alias.id', 'alnope'],
        [
          c.aliases,
          'createAlias',
          CreateAliasRequest.fromPartial({ alias: { folderId: f.id, name: 'a', targets: [{ nodeId: 'ndnope', weight: 100 }] } }),
          'alias.targets[0].node_id',
          'ndnope',
        ],
        [c.operations, 'getOperation', GetOperationRequest.fromPartial({ operationId: 'opnope' }), 'operation_id', 'opnope'],
        [c.operations, 'waitOperation', WaitOperationRequest.fromPartial({ operationId: 'opnope' }), 'operation_id', 'opnope'],
        [c.operations, 'cancelOperation', CancelOperationRequest.fromPartial({ operationId: 'opnope' }), 'operation_id', 'opnope'],
      ];
      for (const [client, method, request, field, id] of grpcs) {
        await refused(s, () => viaGrpc(client, method, request), Code.NOT_FOUND, field, id);
      }
    });

    it(
      'answers 404 / NOT_FOUND for ListOperations of an unknown folder',
      async (ctx) => {
        if (!t) return ctx.skip('PostgreSQL is not available');
        const s = watch();
        await refused(s, () => viaRest('GET', '/v1/operations?folder_id=flnope', undefined, 404), Code.NOT_FOUND, 'folder_id', 'flnope');
        await refused(s, () => viaGrpc(c.operations, 'listOperations', ListOperationsRequest.fromPartial({ folderId: 'flnope' })), Code.NOT_FOUND, 'folder_id', 'flnope');
      },
    );

    it('answers INVALID_ARGUMENT, not NOT_FOUND, when a gRPC request leaves a required id empty', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const s = watch();
      const grpcs: Array<[client: object, method: string, request: unknown, field: string]> = [
        [c.folders, 'getFolder', GetFolderRequest.fromPartial({}), 'folder_id'],
        [c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({}), 'folder_id'],
        [c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { description: 'x' }, updateMask: ['description'] }), 'folder.id'],
        [c.nodes, 'getNode', GetNodeRequest.fromPartial({}), 'node_id'],
        [c.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({}), 'node_id'],
        [c.nodes, 'listNodes', ListNodesRequest.fromPartial({}), 'folder_id'],
        [c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { description: 'x' }, updateMask: ['description'] }), 'node.id'],
        [c.aliases, 'getAlias', GetAliasRequest.fromPartial({}), 'alias_id'],
        [c.aliases, 'deleteAlias', DeleteAliasRequest.fromPartial({}), 'alias_id'],
        [c.operations, 'getOperation', GetOperationRequest.fromPartial({}), 'operation_id'],
        [c.operations, 'listOperations', ListOperationsRequest.fromPartial({}), 'folder_id'],
      ];
      for (const [client, method, request, field] of grpcs) {
        await refused(s, () => viaGrpc(client, method, request), Code.INVALID_ARGUMENT, field, /is required/);
      }
    });

    it('refuses alias targets that do not add up, repeat, or leave the folder, naming alias.targets', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('alias-targets');
      const g = await mkFolder('alias-targets-other');
      const a = await mkNode(f.id, 'a');
      const b = await mkNode(f.id, 'b');
      const elsewhere = await mkNode(g.id, 'c');
      const alias = await mkAlias(f.id, 'prod', [
        { nodeId: a.id, weight: 90 },
        { nodeId: b.id, weight: 10 },
      ]);
      const s = watch(f.id, g.id);
      const cases: Array<[targets: Array<{ nodeId: string; weight: number }>, field: string, says: RegExp]> = [
        [[{ nodeId: a.id, weight: 50 }, { nodeId: b.id, weight: 40 }], 'alias.targets', /sum to 90/],
        [[{ nodeId: a.id, weight: 60 }, { nodeId: b.id, weight: 50 }], 'alias.targets', /sum to 110/],
        [[{ nodeId: a.id, weight: 0 }], 'alias.targets', /sum to 0/],
        [[], 'alias.targets', /at least one target/],
        [[{ nodeId: a.id, weight: 50 }, { nodeId: a.id, weight: 50 }], 'alias.targets[1].node_id', /listed twice/],
        [[{ nodeId: a.id, weight: 50 }, { nodeId: elsewhere.id, weight: 50 }], 'alias.targets[1].node_id', /not in the alias's folder/],
        [[{ nodeId: a.id, weight: 150 }, { nodeId: b.id, weight: -50 }], 'alias.targets[1].weight', /integer from 0 to 100/],
      ];
      for (const [targets, field, says] of cases) {
        const body = { folderId: f.id, name: 'canary', targets };
        await refused(s, () => viaRest('POST', '/v1/aliases', body, 400), Code.INVALID_ARGUMENT, field, says);
        await refused(s, () => viaGrpc(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: body })), Code.INVALID_ARGUMENT, field, says);
        await refused(s, () => viaRest('PATCH', `/v1/aliases/${alias.id}`, { targets }, 400), Code.INVALID_ARGUMENT, field, says);
        await refused(
          s,
          () => viaGrpc(c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id, targets }, updateMask: ['targets'] })),
          Code.INVALID_ARGUMENT,
          field,
          says,
        );
      }
      // An alias in another folder than its target is the same mistake from the other side.
      await refused(
        s,
        () => viaRest('POST', '/v1/aliases', { folderId: g.id, name: 'x', targets: [{ nodeId: a.id, weight: 100 }] }, 400),
        Code.INVALID_ARGUMENT,
        'alias.targets[0].node_id',
      );
      await refused(s, () => viaRest('PATCH', `/v1/aliases/${alias.id}?update_mask=folder_id`, { folderId: g.id }, 400), Code.INVALID_ARGUMENT, 'update_mask.paths[0]', /immutable/);
    });

    it('refuses out-of-range spec values, naming the field, on create and on update', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('ranges');
      const node = await mkNode(f.id, 'web');
      const s = watch(f.id);
      const docker = (extra: Record<string, unknown>) => ({ docker: { image: 'berth-test-http:latest', endpoint: httpEndpoint, ...extra } });
      const creates: Array<[spec: Record<string, unknown>, field: string]> = [
        [{ instanceRange: { min: 3, max: 2 } }, 'node.spec.instance_range'],
        [{ instanceRange: { min: 1, max: 0 } }, 'node.spec.instance_range.max'],
        [{ instanceRange: { min: 1, max: 65 } }, 'node.spec.instance_range.max'],
        [{ instanceRange: { min: -1, max: 2 } }, 'node.spec.instance_range.min'],
        [{ ...docker({ endpoint: { ...httpEndpoint, port: 0 } }) }, 'node.spec.docker.endpoint.port'],
        [{ ...docker({ endpoint: { ...httpEndpoint, port: 70000 } }) }, 'node.spec.docker.endpoint.port'],
        [{ ...docker({ healthCheck: { port: 70000 } }) }, 'node.spec.docker.health_check.port'],
        [{ ...docker({ healthCheck: { failsThreshold: -1 } }) }, 'node.spec.docker.health_check.fails_threshold'],
        [{ ...docker({ healthCheck: { passesThreshold: 101 } }) }, 'node.spec.docker.health_check.passes_threshold'],
        [{ ...docker({ healthCheck: { interval: '0.05s' } }) }, 'node.spec.docker.health_check.interval'],
        [{ ...docker({ healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: 'healthz' } }) }, 'node.spec.docker.health_check.path'],
        [{ ...docker({ telemetry: { httpPath: '/metrics', port: 0 } }) }, 'node.spec.docker.telemetry.port'],
        [{ ...docker({ endpoint: { ...httpEndpoint, timeout: '3601s' } }) }, 'node.spec.docker.endpoint.timeout'],
        [{ ...docker({ image: '' }) }, 'node.spec.docker.image'],
        [{ ...docker({ endpoint: { port: 8080 } }) }, 'node.spec.docker.endpoint.type'],
        [{ configuration: { cpu: 65 } }, 'node.spec.configuration.cpu'],
        [{ configuration: { memoryBytes: '1024' } }, 'node.spec.configuration.memory_bytes'],
        [{ configuration: { gpu: 9 } }, 'node.spec.configuration.gpu'],
        [{ maintenanceLimit: -1 }, 'node.spec.maintenance_limit'],
        [{ autoscaling: { targetInFlight: -2 } }, 'node.spec.autoscaling.target_in_flight'],
        [{ acl: { folderIds: ['Not An Id'] } }, 'node.spec.acl.folder_ids[0]'],
      ];
      for (const [spec, field] of creates) {
        await refused(s, () => viaRest('POST', '/v1/nodes', restNode(f.id, 'n1', spec), 400), Code.INVALID_ARGUMENT, field);
      }
      await refused(s, () => viaRest('POST', '/v1/nodes', { folderId: f.id, name: 'n1', spec: {} }, 400), Code.INVALID_ARGUMENT, 'node.spec', /one of checkpoint and docker/);
      await refused(s, () => viaRest('POST', '/v1/nodes', { folderId: f.id, name: 'n1' }, 400), Code.INVALID_ARGUMENT, 'node.spec', /is required/);

      const grpcCreates: Array<[spec: DeepPartial<NonNullable<Node['spec']>>, field: string]> = [
        [{ instanceRange: { min: 3, max: 2 } }, 'node.spec.instance_range'],
        [{ docker: { image: 'x', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 0 } } }, 'node.spec.docker.endpoint.port'],
        [{ docker: { image: 'x', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 70000 } } }, 'node.spec.docker.endpoint.port'],
        [{ docker: { image: 'x', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 80 }, healthCheck: { failsThreshold: -3 } } }, 'node.spec.docker.health_check.fails_threshold'],
        [{ configuration: { gpu: 9 } }, 'node.spec.configuration.gpu'],
      ];
      for (const [spec, field] of grpcCreates) {
        await refused(s, () => viaGrpc(c.nodes, 'createNode', CreateNodeRequest.fromPartial({ node: grpcNode(f.id, 'n1', spec) })), Code.INVALID_ARGUMENT, field);
      }

      // Updates: the same checks against the node as it would become.
      const patches: Array<[mask: string, body: Record<string, unknown>, field: string]> = [
        ['spec.instance_range.min', { spec: { instanceRange: { min: 5 } } }, 'node.spec.instance_range'],
        ['spec.instance_range', { spec: { instanceRange: { min: 2, max: 1 } } }, 'node.spec.instance_range'],
        ['spec.instance_range.max', { spec: { instanceRange: { max: 0 } } }, 'node.spec.instance_range.max'],
        ['spec.docker.endpoint.port', { spec: { docker: { endpoint: { port: 70000 } } } }, 'node.spec.docker.endpoint.port'],
        ['spec.docker.health_check.passes_threshold', { spec: { docker: { healthCheck: { passesThreshold: -1 } } } }, 'node.spec.docker.health_check.passes_threshold'],
        ['spec.configuration.cpu', { spec: { configuration: { cpu: 100 } } }, 'node.spec.configuration.cpu'],
        ['description', { description: 'd'.repeat(257) }, 'node.description'],
      ];
      for (const [mask, body, field] of patches) {
        await refused(s, () => viaRest('PATCH', `/v1/nodes/${node.id}?update_mask=${mask}`, body, 400), Code.INVALID_ARGUMENT, field);
      }
      await refused(
        s,
        () =>
          viaGrpc(
            c.nodes,
            'updateNode',
            UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { instanceRange: { min: 4, max: 3 } } }, updateMask: ['spec.instance_range'] }),
          ),
        Code.INVALID_ARGUMENT,
        'node.spec.instance_range',
      );
      await refused(
        s,
        () =>
          viaGrpc(
            c.nodes,
            'updateNode',
            UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { docker: { endpoint: { port: 0 } } } }, updateMask: ['spec.docker.endpoint.port'] }),
          ),
        Code.INVALID_ARGUMENT,
        'node.spec.docker.endpoint.port',
      );
      // The kind of a node is immutable. Regression: masking the other member
      // of the spec's oneof left both set, refused as "set exactly one of
      // checkpoint and docker, not both" instead of naming the immutable kind.
      const checkpoint = { checkpointId: 'cp1', outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] };
      await refused(
        s,
        () => viaRest('PATCH', `/v1/nodes/${node.id}?update_mask=spec.checkpoint`, { spec: { checkpoint } }, 400),
        Code.INVALID_ARGUMENT,
        'node.spec.checkpoint',
        /docker node; its kind is immutable/,
      );
      await refused(
        s,
        () =>
          viaGrpc(
            c.nodes,
            'updateNode',
            UpdateNodeRequest.fromPartial({
              node: { id: node.id, spec: { checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: 'y', type: VariableType.VARIABLE_TYPE_INT }] } } },
              updateMask: ['spec.checkpoint.checkpoint_id'],
            }),
          ),
        Code.INVALID_ARGUMENT,
        'node.spec.checkpoint',
        /its kind is immutable/,
      );
    });

    it('lets only the first of two writers with the same etag win: the second gets 409 / ABORTED', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('etags');
      const node = await mkNode(f.id, 'web');
      const s = watch(f.id);

      // REST: both read, the first writes, the second's etag is stale.
      const readA = (await rest(h(), 'GET', `/v1/folders/${f.id}`)).body;
      const readB = (await rest(h(), 'GET', `/v1/folders/${f.id}`)).body;
      assert.equal(readA.etag, readB.etag);
      const first = await rest(h(), 'PATCH', `/v1/folders/${f.id}`, { description: 'from A', etag: readA.etag });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.notEqual(first.body.etag, readA.etag);
      await refused(s, () => viaRest('PATCH', `/v1/folders/${f.id}`, { description: 'from B', etag: readB.etag }, 409), Code.ABORTED, undefined, /read it again/);
      assert.deepEqual((await rest(h(), 'GET', `/v1/folders/${f.id}`)).body, first.body);
      await refused(s, () => viaRest('DELETE', `/v1/folders/${f.id}?etag=${encodeURIComponent(readB.etag)}`, undefined, 409), Code.ABORTED);

      // gRPC: two clients.
      const other = clients(t.grpc);
      try {
        const a = await unary<unknown, any>(c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: node.id }));
        const b = await unary<unknown, any>(other.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: node.id }));
        assert.equal(a.etag, b.etag);
        const won = await unary<unknown, any>(
          c.nodes,
          'updateNode',
          UpdateNodeRequest.fromPartial({ node: { id: node.id, description: 'from A', etag: a.etag }, updateMask: ['description'] }),
        );
        assert.equal(won.description, 'from A');
        await refused(
          s,
          () => viaGrpc(other.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id, description: 'from B', etag: b.etag }, updateMask: ['description'] })),
          Code.ABORTED,
        );
        await refused(s, () => viaGrpc(other.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId: node.id, etag: b.etag })), Code.ABORTED);
      } finally {
        other.close();
      }

      // At the same moment: exactly one of several writers with the same etag wins.
      const current = (await rest(h(), 'GET', `/v1/nodes/${node.id}`)).body;
      const results = await Promise.all(
        ['p', 'q', 'r', 's'].map((who) => rest(h(), 'PATCH', `/v1/nodes/${node.id}`, { description: `from ${who}`, etag: current.etag })),
      );
      const winners = results.filter((r) => r.status === 200);
      assert.equal(winners.length, 1, JSON.stringify(results.map((r) => [r.status, r.body.message])));
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 409);
        assert.equal(r.body.code, Code.ABORTED);
      }
      const stored = (await rest(h(), 'GET', `/v1/nodes/${node.id}`)).body;
      assert.equal(stored.description, winners[0]!.body.description);
      assert.equal(stored.etag, winners[0]!.body.etag);
    });

    it('refuses an update_mask naming an output-only, immutable or unknown field', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('masks');
      const node = await mkNode(f.id, 'web');
      const alias = await mkAlias(f.id, 'prod', [{ nodeId: node.id, weight: 100 }]);
      const s = watch(f.id);
      const rests: Array<[path: string, body: unknown, says: RegExp]> = [
        [`/v1/folders/${f.id}?update_mask=create_time`, {}, /output only/],
        [`/v1/folders/${f.id}?update_mask=id`, {}, /output only/],
        [`/v1/folders/${f.id}?update_mask=colour`, {}, /has no field "colour"/],
        [`/v1/folders/${f.id}?update_mask=description,colour`, { description: 'x' }, /has no field "colour"/],
        [`/v1/nodes/${node.id}?update_mask=generation`, {}, /output only/],
        [`/v1/nodes/${node.id}?update_mask=status.state`, {}, /output only/],
        [`/v1/nodes/${node.id}?update_mask=folder_id`, { folderId: 'default' }, /immutable/],
        [`/v1/nodes/${node.id}?update_mask=spec.bogus`, {}, /has no field "bogus"/],
        [`/v1/nodes/${node.id}?update_mask=name.first`, {}, /has no subfields/],
        [`/v1/nodes/${node.id}`, { status: { reason: 'healthy, honest' } }, /output only/],
        [`/v1/nodes/${node.id}`, { generation: '7' }, /output only/],
        [`/v1/aliases/${alias.id}?update_mask=update_time`, {}, /output only/],
      ];
      for (const [path, body, says] of rests) {
        await refused(s, () => viaRest('PATCH', path, body, 400), Code.INVALID_ARGUMENT, /^update_mask\.paths\[\d\]$/, says);
      }
      await refused(s, () => viaRest('PATCH', `/v1/folders/${f.id}`, { etag: '"1"' }, 400), Code.INVALID_ARGUMENT, 'update_mask', /is required/);
      const grpcs: Array<[client: object, method: string, request: unknown, field: string]> = [
        [c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: f.id }, updateMask: ['create_time'] }), 'update_mask.paths[0]'],
        [c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: f.id, description: 'x' }, updateMask: ['description', 'etag2'] }), 'update_mask.paths[1]'],
        [c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: f.id, description: 'x' } }), 'update_mask'],
        [c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id }, updateMask: ['status'] }), 'update_mask.paths[0]'],
        [c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id }, updateMask: ['spec.instance_range.middle'] }), 'update_mask.paths[0]'],
        [c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id }, updateMask: ['id'] }), 'update_mask.paths[0]'],
      ];
      for (const [client, method, request, field] of grpcs) {
        await refused(s, () => viaGrpc(client, method, request), Code.INVALID_ARGUMENT, field);
      }
    });

    it('answers FAILED_PRECONDITION (400) for deletes that would break something', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const f = await mkFolder('preconditions');
      const node = await mkNode(f.id, 'web');
      const alias = await mkAlias(f.id, 'prod', [{ nodeId: node.id, weight: 100 }]);
      const s = watch(f.id);
      await refused(s, () => viaRest('DELETE', `/v1/nodes/${node.id}`, undefined, 400), Code.FAILED_PRECONDITION, undefined, 'alias "prod"');
      await refused(s, () => viaGrpc(c.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId: node.id })), Code.FAILED_PRECONDITION, undefined, 'alias "prod"');
      await refused(s, () => viaRest('DELETE', `/v1/folders/${f.id}`, undefined, 400), Code.FAILED_PRECONDITION, undefined, /still holds 1 nodes/);
      await refused(s, () => viaGrpc(c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId: f.id })), Code.FAILED_PRECONDITION);
      await refused(s, () => viaRest('DELETE', '/v1/folders/default', undefined, 400), Code.FAILED_PRECONDITION, undefined, /default folder/);
      await refused(s, () => viaGrpc(c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId: 'default' })), Code.FAILED_PRECONDITION, undefined, /default folder/);
      // A done operation cannot be cancelled.
      assert.equal((await rest(h(), 'DELETE', `/v1/aliases/${alias.id}`)).status, 200);
      const deleted = await rest(h(), 'DELETE', `/v1/nodes/${node.id}`);
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.equal(deleted.body.done, true);
      await refused(s, () => viaRest('POST', `/v1/operations/${deleted.body.id}:cancel`, {}, 400), Code.FAILED_PRECONDITION, undefined, /already done/);
      await refused(s, () => viaGrpc(c.operations, 'cancelOperation', CancelOperationRequest.fromPartial({ operationId: deleted.body.id })), Code.FAILED_PRECONDITION);
      // With the node gone the folder is empty and may go.
      assert.equal((await rest(h(), 'DELETE', `/v1/folders/${f.id}`)).status, 200);
    });
  });
}
