import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { AliasServiceService } from '../../gen/berth/v1/alias_service';
import { CheckpointServiceService } from '../../gen/berth/v1/checkpoint_service';
import { FolderServiceService } from '../../gen/berth/v1/folder_service';
import { NodeServiceService } from '../../gen/berth/v1/node_service';
import { OperationServiceService } from '../../gen/berth/v1/operation_service';
import { MethodTable, type ServiceHandlers } from '../../src/api/adapter';
import { BERTH_SERVICES, descriptors } from '../../src/api/descriptors';
import { compileTemplate, matchTemplate } from '../../src/api/rest/path-template';
import { buildRoutes, findRoute } from '../../src/api/rest/transcoder';

describe('compileTemplate', () => {
  const cases: Array<[source: string, variables: string[], literals: number, verb: string]> = [
    ['/v1/folders', [], 2, ''],
    ['/v1/nodes/{node_id}', ['node_id'], 2, ''],
    ['/v1/nodes/{node_id}:execute', ['node_id'], 3, 'execute'],
    ['/v1/aliases/{alias_name}:execute', ['alias_name'], 3, 'execute'],
    ['/v1/folders/{folder.id}', ['folder.id'], 2, ''],
    ['/v1/nodes/{node_id=*}/instances', ['node_id'], 3, ''],
    ['/v1/files/{path=**}', ['path'], 2, ''],
    ['/v1/a/{x}/b/{y}', ['x', 'y'], 3, ''],
  ];
  for (const [source, variables, literals, verb] of cases) {
    it(`${source}: variables ${JSON.stringify(variables)}, ${literals} literals${verb ? `, verb ${verb}` : ''}`, () => {
      const t = compileTemplate(source);
      assert.equal(t.source, source);
      assert.deepEqual(t.variables, variables);
      assert.equal(t.literals, literals);
      assert.equal(t.verb, verb);
    });
  }

  it('counts the verb as a literal, so that a verb route is more specific than its resource', () => {
    assert.ok(compileTemplate('/v1/nodes/{node_id}:execute').literals > compileTemplate('/v1/nodes/{node_id}').literals);
  });

  it('refuses templates it cannot serve, naming them', () => {
    assert.throws(() => compileTemplate('v1/folders'), /v1\/folders must start with "\/"/);
    assert.throws(() => compileTemplate('/v1/{name=projects/*}'), /unsupported path template segment/);
    assert.throws(() => compileTemplate('/v1/x{id}'), /unsupported path template segment x\{id\}/);
  });
});

describe('matchTemplate', () => {
  const cases: Array<[template: string, path: string, vars: Record<string, string> | undefined]> = [
    ['/v1/folders', '/v1/folders', {}],
    ['/v1/folders', '/v1/folders/', undefined],
    ['/v1/folders', '/v1/folder', undefined],
    ['/v1/folders', '/v2/folders', undefined],
    ['/v1/nodes/{node_id}', '/v1/nodes/nd123', { node_id: 'nd123' }],
    ['/v1/nodes/{node_id}', '/v1/nodes/', undefined],
    ['/v1/nodes/{node_id}', '/v1/nodes/a/b', undefined],
    ['/v1/nodes/{node_id}', '/v1/nodes/a%20b', { node_id: 'a b' }],
    ['/v1/nodes/{node_id}', '/v1/nodes/%E0%A4%A', undefined],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/nd123:execute', { node_id: 'nd123' }],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/nd123', undefined],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/nd123:suspend', undefined],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/:execute', undefined],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/a:b:execute', undefined],
    ['/v1/nodes/{node_id}:execute', '/v1/nodes/a/b:execute', undefined],
    // A template alone cannot tell a verb from a colon in an id; the router
    // decides by the verbs its routes declare (see findRoute below).
    ['/v1/nodes/{node_id}', '/v1/nodes/a:b', { node_id: 'a:b' }],
    ['/v1/nodes/{node_id}/instances', '/v1/nodes/nd1/instances', { node_id: 'nd1' }],
    ['/v1/folders/{folder.id}', '/v1/folders/fl123', { 'folder.id': 'fl123' }],
    ['/v1/files/{path=**}', '/v1/files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['/v1/files/{path=**}', '/v1/files/', undefined],
    ['/v1/a.b', '/v1/aXb', undefined],
    ['/v1/a.b', '/v1/a.b', {}],
  ];
  for (const [template, path, vars] of cases) {
    it(`${template} ${vars ? 'matches' : 'does not match'} ${path}`, () => assert.deepEqual(matchTemplate(compileTemplate(template), path), vars));
  }
});

/** Handlers that only say which method the router chose; no server, no database. */
function stubs<D extends ServiceDefinition>(definition: D): ServiceHandlers<D> {
  return Object.fromEntries(Object.keys(definition).map((key) => [key, async () => ({})])) as unknown as ServiceHandlers<D>;
}

describe('route selection over the berth.v1 annotations', () => {
  const table = new MethodTable()
    .add(FolderServiceService, stubs(FolderServiceService))
    .add(NodeServiceService, stubs(NodeServiceService))
    .add(AliasServiceService, stubs(AliasServiceService))
    .add(CheckpointServiceService, stubs(CheckpointServiceService))
    .add(OperationServiceService, stubs(OperationServiceService));
  const routes = buildRoutes(descriptors().registry, BERTH_SERVICES, table);

  const cases: Array<[method: string, path: string, grpcPath: string, vars: Record<string, string>]> = [
    ['POST', '/v1/nodes/nd1:execute', '/berth.v1.NodeService/Execute', { node_id: 'nd1' }],
    ['POST', '/v1/nodes/nd1:suspend', '/berth.v1.NodeService/SuspendNode', { node_id: 'nd1' }],
    ['POST', '/v1/nodes/nd1:resume', '/berth.v1.NodeService/ResumeNode', { node_id: 'nd1' }],
    ['GET', '/v1/nodes/nd1', '/berth.v1.NodeService/GetNode', { node_id: 'nd1' }],
    ['PATCH', '/v1/nodes/nd1', '/berth.v1.NodeService/UpdateNode', { 'node.id': 'nd1' }],
    ['DELETE', '/v1/nodes/nd1', '/berth.v1.NodeService/DeleteNode', { node_id: 'nd1' }],
    ['GET', '/v1/nodes/nd1/instances', '/berth.v1.NodeService/ListInstances', { node_id: 'nd1' }],
    ['POST', '/v1/aliases/prod:execute', '/berth.v1.NodeService/ExecuteAlias', { alias_name: 'prod' }],
    ['PATCH', '/v1/folders/fl1', '/berth.v1.FolderService/UpdateFolder', { 'folder.id': 'fl1' }],
    ['PATCH', '/v1/aliases/al1', '/berth.v1.AliasService/UpdateAlias', { 'alias.id': 'al1' }],
    ['POST', '/v1/operations/op1:wait', '/berth.v1.OperationService/WaitOperation', { operation_id: 'op1' }],
    ['POST', '/v1/operations/op1:cancel', '/berth.v1.OperationService/CancelOperation', { operation_id: 'op1' }],
    ['GET', '/v1/folders', '/berth.v1.FolderService/ListFolders', {}],
    ['POST', '/v1/folders', '/berth.v1.FolderService/CreateFolder', {}],
  ];
  for (const [method, path, grpcPath, vars] of cases) {
    it(`${method} ${path} → ${grpcPath.split('/').pop()}`, () => {
      const found = findRoute(routes, method, path);
      assert.ok(found && 'route' in found, `no route for ${method} ${path}`);
      assert.equal(found.route.method.path, grpcPath);
      assert.deepEqual(found.vars, vars);
    });
  }

  /** What findRoute answers, small enough to print when an assertion fails. */
  const outcome = (method: string, path: string): string => {
    const found = findRoute(routes, method, path);
    if (found === undefined) return 'undefined';
    return 'route' in found ? `${found.route.method.path} ${JSON.stringify(found.vars)}` : `method-not-allowed (allow ${[...found.allow].sort().join(', ')})`;
  };

  it('answers method-not-allowed with the methods the path takes for a known path with another method, and nothing for an unknown path', () => {
    assert.equal(outcome('PUT', '/v1/folders'), 'method-not-allowed (allow GET, POST)');
    assert.equal(outcome('GET', '/v1/unknown'), 'undefined');
    assert.equal(outcome('GET', '/v1/nodes/nd1/unknown'), 'undefined');
  });

  // Regression: a verb path with the wrong method fell through to the
  // resource route, so `GET /v1/operations/op1:wait` read an operation named
  // "op1:wait" (404) and `DELETE /v1/nodes/nd1:execute` tried to delete "nd1:execute".
  it('treats a declared verb as the verb, whatever the method', () => {
    assert.equal(outcome('GET', '/v1/operations/op1:wait'), 'method-not-allowed (allow POST)');
    assert.equal(outcome('GET', '/v1/nodes/nd1:execute'), 'method-not-allowed (allow POST)');
    assert.equal(outcome('DELETE', '/v1/nodes/nd1:execute'), 'method-not-allowed (allow POST)');
    assert.equal(outcome('PATCH', '/v1/aliases/prod:execute'), 'method-not-allowed (allow POST)');
  });

  it('keeps an undeclared verb as part of the id', () => {
    assert.equal(outcome('GET', '/v1/nodes/a:b'), '/berth.v1.NodeService/GetNode {"node_id":"a:b"}');
    assert.equal(outcome('POST', '/v1/nodes/nd1:explode'), 'method-not-allowed (allow DELETE, GET, PATCH)');
  });
});
