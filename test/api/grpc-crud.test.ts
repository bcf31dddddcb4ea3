import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AliasAccess, type Alias } from '../../gen/berth/v1/alias';
import { CreateAliasRequest, DeleteAliasRequest, GetAliasRequest, ListAliasesRequest, UpdateAliasRequest, type ListAliasesResponse } from '../../gen/berth/v1/alias_service';
import type { Folder } from '../../gen/berth/v1/folder';
import { CreateFolderRequest, DeleteFolderRequest, GetFolderRequest, ListFoldersRequest, UpdateFolderRequest, type ListFoldersResponse } from '../../gen/berth/v1/folder_service';
import { EndpointType, HealthCheckType, NodeState, type Node } from '../../gen/berth/v1/node';
import {
  CreateNodeRequest,
  DeleteNodeRequest,
  GetNodeApiRequest,
  GetNodeRequest,
  ListNodesRequest,
  NodeExecutionRequest,
  UpdateNodeRequest,
  type ListNodesResponse,
} from '../../gen/berth/v1/node_service';
import { NodeOperationMetadata, type Operation } from '../../gen/berth/v1/operation';
import { CancelOperationRequest, GetOperationRequest, ListOperationsRequest, WaitOperationRequest, type ListOperationsResponse } from '../../gen/berth/v1/operation_service';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, grpcViolations, unary } from '../helpers/grpc';
import { grpcHealth } from '../helpers/health';

const Code = grpc.status;

const dockerNode = (folderId: string, name: string) =>
  CreateNodeRequest.fromPartial({
    node: {
      folderId,
      name,
      description: 'an HTTP service',
      labels: { team: 'search' },
      spec: {
        docker: { image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 }, env: { MODE: 'fast' } },
        instanceRange: { min: 2, max: 4 },
      },
    },
  });

/** The gRPC status code of a call that must fail. */
async function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  return assert.fail('the call succeeded');
}

for (const db of DATABASES) {
  describe(`gRPC control plane on ${db}`, () => {
    let t: TestBerth | undefined;
    let c: ReturnType<typeof clients>;
    before(async () => {
      t = await startTestBerth(db);
      if (t) c = clients(t.grpc);
    });
    after(async () => {
      c?.close();
      await t?.close();
    });

    it('creates, reads, lists, updates and deletes folders, nodes and aliases with the generated clients', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'team-a', description: 'first team', labels: { env: 'dev' } } }));
      assert.match(folder.id, /^fl[0-9a-z]+$/);
      assert.equal(folder.name, 'team-a');
      assert.deepEqual(folder.labels, { env: 'dev' });
      assert.ok(folder.createTime instanceof Date);
      assert.equal(folder.etag, '"1"');
      const folderId = folder.id;

      assert.deepEqual(await unary(c.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId })), folder);
      const defaultFolder = await unary<GetFolderRequest, Folder>(c.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId: 'default' }));
      assert.equal(defaultFolder.name, 'default');

      const created = await unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', dockerNode(folderId, 'web'));
      assert.equal(created.description, 'CreateNode');
      assert.equal(created.done, false);
      assert.equal(created.folderId, folderId);
      assert.equal(created.metadata?.typeUrl, 'type.googleapis.com/berth.v1.NodeOperationMetadata');
      const nodeId = created.resourceId;
      assert.equal(NodeOperationMetadata.decode(created.metadata!.value).nodeId, nodeId);
      const op = await unary<GetOperationRequest, Operation>(c.operations, 'getOperation', GetOperationRequest.fromPartial({ operationId: created.id }));
      assert.equal(op.resourceId, nodeId);

      const node = await unary<GetNodeRequest, Node>(c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId }));
      assert.equal(node.folderId, folderId);
      // The supervisor may already have looked at it (a Docker node cannot run on the process runtime).
      assert.ok([NodeState.NODE_STATE_CREATED, NodeState.NODE_STATE_UNHEALTHY].includes(node.status!.state), `state ${node.status?.state}`);
      assert.equal(node.spec?.docker?.image, 'berth-test-http:latest');
      assert.deepEqual(node.spec?.docker?.env, { MODE: 'fast' });
      assert.deepEqual(node.spec?.instanceRange, { min: 2, max: 4 });
      // Defaults are filled in and shown: the health check follows the endpoint.
      assert.equal(node.spec?.docker?.healthCheck?.type, HealthCheckType.HEALTH_CHECK_TYPE_HTTP);
      assert.equal(node.spec?.docker?.healthCheck?.port, 8080);
      assert.equal(node.spec?.docker?.healthCheck?.path, '/');
      assert.deepEqual(node.spec?.docker?.endpoint?.timeout, { seconds: 60, nanos: 0 });
      assert.equal(node.spec?.maintenanceLimit, 1);
      assert.equal(node.generation, 1);

      for (const name of ['api', 'batch', 'cron']) await unary(c.nodes, 'createNode', dockerNode(folderId, name));
      // Paging: 4 nodes, 3 per page.
      const page1 = await unary<ListNodesRequest, ListNodesResponse>(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId, pageSize: 3 }));
      assert.deepEqual(page1.nodes.map((n) => n.name), ['web', 'api', 'batch']);
      assert.ok(page1.nextPageToken);
      const page2 = await unary<ListNodesRequest, ListNodesResponse>(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId, pageSize: 3, pageToken: page1.nextPageToken }));
      assert.deepEqual(page2.nodes.map((n) => n.name), ['cron']);
      assert.equal(page2.nextPageToken, '');
      const filtered = await unary<ListNodesRequest, ListNodesResponse>(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId, filter: 'name:"b"' }));
      assert.deepEqual(filtered.nodes.map((n) => n.name), ['batch']);
      // A page token belongs to its query.
      const misused = await failure(unary(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId, pageSize: 3, pageToken: page1.nextPageToken, filter: 'name:"c"' })));
      assert.equal(misused.code, Code.INVALID_ARGUMENT);
      assert.deepEqual(grpcViolations(misused), ['page_token']);

      const nodeIds = [nodeId, ...page1.nodes.slice(1).map((n) => n.id), page2.nodes[0]!.id];
      const alias = await unary<CreateAliasRequest, Alias>(
        c.aliases,
        'createAlias',
        CreateAliasRequest.fromPartial({ alias: { folderId, name: 'prod', targets: [{ nodeId, weight: 100 }], metadata: { owner: 'search' } } }),
      );
      assert.equal(alias.access, AliasAccess.ALIAS_ACCESS_PRIVATE);
      assert.deepEqual(alias.targets, [{ nodeId, weight: 100 }]);
      const aliasId = alias.id;
      const aliases = await unary<ListAliasesRequest, ListAliasesResponse>(c.aliases, 'listAliases', ListAliasesRequest.fromPartial({ folderId }));
      assert.deepEqual(aliases.aliases, [alias]);

      // Update with a field mask: only the masked field changes.
      const masked = await unary<UpdateNodeRequest, Node>(
        c.nodes,
        'updateNode',
        UpdateNodeRequest.fromPartial({
          node: { id: nodeId, description: 'ignored: not in the mask', spec: { instanceRange: { min: 1, max: 6 } } },
          updateMask: ['spec.instance_range.max'],
        }),
      );
      assert.deepEqual(masked.spec?.instanceRange, { min: 2, max: 6 });
      assert.equal(masked.description, 'an HTTP service');
      assert.equal(masked.generation, 2);
      assert.equal(masked.spec?.docker?.image, 'berth-test-http:latest', 'unmasked spec fields stay');
      const described = await unary<UpdateNodeRequest, Node>(
        c.nodes,
        'updateNode',
        UpdateNodeRequest.fromPartial({ node: { id: nodeId, description: 'the web tier', etag: masked.etag }, updateMask: ['description'] }),
      );
      assert.equal(described.description, 'the web tier');
      assert.equal(described.generation, 2, 'a description change is not a spec change');
      assert.notEqual(described.etag, masked.etag);

      const folderUpdate = await unary<UpdateFolderRequest, Folder>(
        c.folders,
        'updateFolder',
        UpdateFolderRequest.fromPartial({ folder: { id: folderId, labels: { env: 'prod' }, description: 'ignored' }, updateMask: ['labels'] }),
      );
      assert.deepEqual(folderUpdate.labels, { env: 'prod' });
      assert.equal(folderUpdate.description, 'first team');

      // A canary: the alias switches to an 80/20 split in one update.
      const aliasUpdate = await unary<UpdateAliasRequest, Alias>(
        c.aliases,
        'updateAlias',
        UpdateAliasRequest.fromPartial({
          alias: { id: aliasId, targets: [{ nodeId, weight: 80 }, { nodeId: nodeIds[1]!, weight: 20 }], metadata: { owner: 'web' } },
          updateMask: ['targets', 'metadata'],
        }),
      );
      assert.deepEqual(aliasUpdate.targets, [{ nodeId, weight: 80 }, { nodeId: nodeIds[1]!, weight: 20 }]);
      assert.deepEqual(aliasUpdate.metadata, { owner: 'web' });

      // Everything survives a restart; the old channel reconnects to the same port.
      const beforeRestart = await unary<GetNodeRequest, Node>(c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId }));
      assert.equal(beforeRestart.description, 'the web tier');
      await t.restart();
      const fresh = clients(t.grpc);
      try {
        for (const client of [c, fresh]) {
          const afterRestart = await unary<GetNodeRequest, Node>(client.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId }));
          assert.equal(afterRestart.description, 'the web tier');
          assert.deepEqual(afterRestart.spec?.instanceRange, { min: 2, max: 6 });
          assert.equal(afterRestart.generation, 2);
          assert.equal(afterRestart.etag, beforeRestart.etag);
          assert.deepEqual(afterRestart.updateTime, beforeRestart.updateTime);
        }
        const aliasAfter = await unary<GetAliasRequest, Alias>(fresh.aliases, 'getAlias', GetAliasRequest.fromPartial({ aliasId }));
        assert.deepEqual(aliasAfter, aliasUpdate);
        const folderAfter = await unary<GetFolderRequest, Folder>(fresh.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId }));
        assert.deepEqual(folderAfter, folderUpdate);
        const ops = await unary<ListOperationsRequest, ListOperationsResponse>(fresh.operations, 'listOperations', ListOperationsRequest.fromPartial({ folderId }));
        assert.equal(ops.operations.length, 4);
        assert.ok(ops.operations.every((o) => o.description === 'CreateNode'));
        assert.deepEqual(
          ops.operations.map((o) => o.resourceId),
          [...nodeIds].reverse(),
          'newest first',
        );

        // A Docker node serves its own API: no generated API, no Execute.
        const api = await failure(unary(fresh.nodes, 'getNodeApi', GetNodeApiRequest.fromPartial({ nodeId })));
        assert.equal(api.code, Code.FAILED_PRECONDITION);
        const exec = await failure(unary(fresh.nodes, 'execute', NodeExecutionRequest.fromPartial({ folderId, nodeId, input: {} })));
        assert.equal(exec.code, Code.FAILED_PRECONDITION);
        assert.match(exec.details, /x-node-id/);

        // Delete: the alias first (a node behind an alias cannot go), then nodes, then the folder.
        const blocked = await failure(unary(fresh.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId })));
        assert.equal(blocked.code, Code.FAILED_PRECONDITION);
        assert.match(blocked.details, /alias "prod"/);
        await unary(fresh.aliases, 'deleteAlias', DeleteAliasRequest.fromPartial({ aliasId, etag: aliasUpdate.etag }));
        assert.equal((await failure(unary(fresh.aliases, 'getAlias', GetAliasRequest.fromPartial({ aliasId })))).code, Code.NOT_FOUND);
        assert.equal((await failure(unary(fresh.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId })))).code, Code.FAILED_PRECONDITION);
        for (const id of nodeIds) {
          const del = await unary<DeleteNodeRequest, Operation>(fresh.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId: id }));
          assert.equal(del.description, 'DeleteNode');
          assert.equal(del.done, true, 'a node without instances is deleted at once');
          assert.equal(del.response?.typeUrl, 'type.googleapis.com/google.protobuf.Empty');
          assert.equal((await failure(unary(fresh.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: id })))).code, Code.NOT_FOUND);
        }
        const createOp = await unary<GetOperationRequest, Operation>(fresh.operations, 'getOperation', GetOperationRequest.fromPartial({ operationId: created.id }));
        assert.equal(createOp.done, true, 'a CreateNode ends at the latest when its node is deleted');
        // CANCELLED by the delete, or FAILED_PRECONDITION from the supervisor if it gave up first.
        assert.ok([Code.CANCELLED, Code.FAILED_PRECONDITION].includes(createOp.error!.code), `error ${JSON.stringify(createOp.error)}`);
        await unary(fresh.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId, etag: folderUpdate.etag }));
        assert.equal((await failure(unary(fresh.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId })))).code, Code.NOT_FOUND);
      } finally {
        fresh.close();
      }
    });

    it('lists folders a page at a time and waits for and cancels operations', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const existing = (await unary<ListFoldersRequest, ListFoldersResponse>(c.folders, 'listFolders', ListFoldersRequest.fromPartial({}))).folders.map((f) => f.name);
      for (const name of ['g-one', 'g-two', 'g-three']) await unary(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name } }));
      const seen: string[] = [];
      let pageToken = '';
      do {
        const page = await unary<ListFoldersRequest, ListFoldersResponse>(c.folders, 'listFolders', ListFoldersRequest.fromPartial({ pageSize: 2, pageToken }));
        assert.ok(page.folders.length <= 2);
        seen.push(...page.folders.map((f) => f.name));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(seen, [...existing, 'g-one', 'g-two', 'g-three'], 'in order of creation, each once');
      const byName = await unary<ListFoldersRequest, ListFoldersResponse>(c.folders, 'listFolders', ListFoldersRequest.fromPartial({ filter: 'name = "g-two"' }));
      assert.deepEqual(byName.folders.map((f) => f.name), ['g-two']);

      // The supervisor works on the operation meanwhile, so it may end before or during the wait.
      const created = await unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', dockerNode('default', 'waiter'));
      const started = Date.now();
      const waited = await unary<WaitOperationRequest, Operation>(
        c.operations,
        'waitOperation',
        WaitOperationRequest.fromPartial({ operationId: created.id, timeout: { seconds: 0, nanos: 300_000_000 } }),
      );
      if (!waited.done) {
        assert.ok(Date.now() - started >= 250, 'WaitOperation waits for its timeout when the operation is not done');
        const cancelled = await unary<CancelOperationRequest, Operation>(c.operations, 'cancelOperation', CancelOperationRequest.fromPartial({ operationId: created.id }));
        assert.equal(cancelled.done, true);
        assert.equal(cancelled.error?.code, Code.CANCELLED);
      }
      const waitedDone = await unary<WaitOperationRequest, Operation>(
        c.operations,
        'waitOperation',
        WaitOperationRequest.fromPartial({ operationId: created.id, timeout: { seconds: 10, nanos: 0 } }),
      );
      assert.equal(waitedDone.done, true);
      assert.ok(waitedDone.error || waitedDone.response, 'a done operation carries its error or its response');
      const quick = Date.now();
      const again = await unary<WaitOperationRequest, Operation>(c.operations, 'waitOperation', WaitOperationRequest.fromPartial({ operationId: created.id, timeout: { seconds: 10, nanos: 0 } }));
      assert.ok(again.done && Date.now() - quick < 2000, 'a done operation is answered at once');
      const cancelDone = await failure(unary(c.operations, 'cancelOperation', CancelOperationRequest.fromPartial({ operationId: created.id })));
      assert.equal(cancelDone.code, Code.FAILED_PRECONDITION);
      assert.match(cancelDone.details, /already done/);
    });

    // A regression test: on SQLite every loaded row once looked changed on flush
    // (a datetime snapshot compared as text against a number), so an alias write
    // bumped its target nodes' versions.
    it(
      "keeps a node's etag when an alias that targets it is written",
      async (ctx) => {
        if (!t) return ctx.skip('PostgreSQL is not available');
        const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'etag-keeper' } }));
        const ops = await Promise.all(['one', 'two'].map((name) => unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', dockerNode(folder.id, name))));
        const [a, b] = ops.map((o) => o.resourceId) as [string, string];
        const etags = async () => Promise.all([a, b].map(async (nodeId) => (await unary<GetNodeRequest, Node>(c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId }))).etag));
        const before = await etags();
        const alias = await unary<CreateAliasRequest, Alias>(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'split', targets: [{ nodeId: a, weight: 100 }] } }));
        await unary(c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id, targets: [{ nodeId: a, weight: 50 }, { nodeId: b, weight: 50 }] }, updateMask: ['targets'] }));
        assert.deepEqual(await etags(), before, 'an alias write changed the etags of its target nodes');
        // The node is as its reader left it, so a conditional write with that etag goes through.
        const updated = await unary<UpdateNodeRequest, Node>(
          c.nodes,
          'updateNode',
          UpdateNodeRequest.fromPartial({ node: { id: a, description: 'still mine', etag: before[0] }, updateMask: ['description'] }),
        );
        assert.equal(updated.description, 'still mine');
      },
    );

    it('answers grpc.health.v1 Check: SERVING for the server and each berth.v1 service, NOT_FOUND for others', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      assert.equal(await grpcHealth(t.grpc, ''), 'SERVING');
      for (const service of ['berth.v1.FolderService', 'berth.v1.NodeService', 'berth.v1.AliasService', 'berth.v1.CheckpointService', 'berth.v1.OperationService'])
        assert.equal(await grpcHealth(t.grpc, service), 'SERVING', service);
      assert.deepEqual(await grpcHealth(t.grpc, 'berth.v1.NoSuchService'), { code: Code.NOT_FOUND });
    });

    it('describes itself through server reflection (v1), as grpcurl uses it', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const definition = loadSync(require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'), {
        keepCase: true,
        longs: String,
        enums: String,
        defaults: true,
        oneofs: true,
      });
      const pkg = grpc.loadPackageDefinition(definition) as any;
      const client: grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, any> } = new pkg.grpc.reflection.v1.ServerReflection(
        t.grpc,
        grpc.credentials.createInsecure(),
      );
      try {
        /** Sends reflection requests on one stream and collects one answer each. */
        const ask = (requests: object[]): Promise<any[]> =>
          new Promise((resolve, reject) => {
            const answers: any[] = [];
            const call = client.ServerReflectionInfo();
            call.on('data', (d: any) => {
              answers.push(d);
              if (answers.length === requests.length) call.end();
            });
            call.on('error', reject);
            call.on('end', () => resolve(answers));
            for (const r of requests) call.write(r);
          });
        const [listed, nodeFile, missing] = await ask([
          { list_services: '' },
          { file_containing_symbol: 'berth.v1.NodeService' },
          { file_containing_symbol: 'berth.v1.NoSuchThing' },
        ]);

        const services: string[] = listed.list_services_response.service.map((s: { name: string }) => s.name);
        for (const name of [
          'berth.v1.FolderService',
          'berth.v1.NodeService',
          'berth.v1.AliasService',
          'berth.v1.CheckpointService',
          'berth.v1.OperationService',
          'grpc.health.v1.Health',
        ])
          assert.ok(services.includes(name), `${name} is not listed: ${services.join(', ')}`);

        const files = (nodeFile.file_descriptor_response.file_descriptor_proto as Buffer[]).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
        const nodeServiceFile = files.find((f) => f.service.some((s) => s.name === 'NodeService'));
        assert.ok(nodeServiceFile, `no file describes NodeService: ${files.map((f) => f.name).join(', ')}`);
        assert.equal(nodeServiceFile.package, 'berth.v1');
        const methods = nodeServiceFile.service.find((s) => s.name === 'NodeService')!.method.map((m) => m.name);
        for (const m of ['CreateNode', 'GetNode', 'ListNodes', 'UpdateNode', 'DeleteNode', 'Execute']) assert.ok(methods.includes(m), `NodeService lacks ${m}`);

        assert.equal(missing.error_response.error_code, Code.NOT_FOUND);
      } finally {
        client.close();
      }
    });
  });
}
