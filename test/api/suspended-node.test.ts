/**
 * A call to a node that will not serve until someone acts is
 * FAILED_PRECONDITION (HTTP 400, as grpc-gateway maps it) naming the node and its state, which clients do
 * not retry; a node that merely has no healthy instance stays UNAVAILABLE /
 * 503. Regression: a call to a suspended node answered 503 "has no healthy
 * instance", and clients retried it forever; a checkpoint node called on the
 * node API answered the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { AliasExecutionRequest, NodeExecutionRequest } from '../../gen/berth/v1/node_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A unary call with raw bytes and metadata: the node API and the typed services, as any gRPC client calls them. */
function rawCall(address: string, path: string, headers: Record<string, string> = {}, bytes = Buffer.alloc(0)): Promise<ServiceError | undefined> {
  const client = new Client(address, credentials.createInsecure());
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, md, (err: ServiceError | null) => {
      client.close();
      resolve(err ?? undefined);
    });
  });
}

async function grpcError(call: Promise<unknown>): Promise<ServiceError> {
  try {
    const res = await call;
    assert.fail(`the call succeeded: ${JSON.stringify(res)}`);
  } catch (err) {
    if ((err as ServiceError).code === undefined) throw err;
    return err as ServiceError;
  }
}

describe('calls to suspended, checkpoint and starting nodes', () => {
  let t: TestBerth;
  let c: ReturnType<typeof clients>;
  const nodeApi = () => `http://127.0.0.1:${t.berth.nodeApiPort}`;

  /** Starts an operation (retrying ABORTED, as a client would: the supervisor writes a new node too) and waits for it. */
  async function done(start: () => Promise<{ status: number; body: any }>): Promise<any> {
    let res = await start();
    for (let i = 0; i < 20 && res.status === 409; i++) {
      await sleep(100);
      res = await start();
    }
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const waited = await rest(t.http, 'POST', `/v1/operations/${res.body.id}:wait`, { timeout: '60s' });
    assert.equal(waited.body.done, true, JSON.stringify(waited.body));
    return waited.body;
  }
  const suspend = (nodeId: string) => done(() => rest(t.http, 'POST', `/v1/nodes/${nodeId}:suspend`, {}));

  before(async () => {
    t = (await startTestBerth('sqlite'))!;
    c = clients(t.grpc);
  });
  after(async () => {
    c.close();
    await t.close();
  });

  it('answers a checkpoint node on the node API with 400 naming Execute, and every way of calling a suspended checkpoint node with FAILED_PRECONDITION naming the state', async () => {
    const cp = await done(() => rest(t.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'plus-one', cells: { cells: ['y = 0', 'y = x + 1'] }, servedCellIndex: 1 }));
    assert.equal(cp.error, undefined, JSON.stringify(cp.error));
    const created = await done(() =>
      rest(t.http, 'POST', '/v1/nodes', {
        folderId: 'default',
        name: 'plus',
        spec: { checkpoint: { checkpointId: cp.resourceId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] } },
      }),
    );
    assert.equal(created.error, undefined, JSON.stringify(created.error));
    const nodeId: string = created.resourceId;
    const ok = await rest(t.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 41 } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(Number(ok.body.output.y), 42);

    // A checkpoint node on the node API: a 400 naming the right door, not "no healthy instance".
    const onNodeApi = await fetch(`${nodeApi()}/anything`, { headers: { 'x-node-id': nodeId } });
    const onNodeApiBody = await onNodeApi.text();
    assert.equal(onNodeApi.status, 400, onNodeApiBody);
    const refusal = JSON.parse(onNodeApiBody) as { code: number; message: string };
    assert.equal(refusal.code, Code.INVALID_ARGUMENT);
    assert.match(refusal.message, /is a checkpoint node/);
    assert.ok(refusal.message.includes(`POST /v1/nodes/${nodeId}:execute`), refusal.message);
    assert.equal(onNodeApi.headers.get('x-berth-instance-id'), null, 'Berth answered, no instance did');
    const onNodeApiGrpc = await rawCall(`127.0.0.1:${t.berth.nodeApiPort}`, '/any.Service/Method', { 'x-node-id': nodeId });
    assert.equal(onNodeApiGrpc?.code, Code.INVALID_ARGUMENT, onNodeApiGrpc?.details);
    assert.match(onNodeApiGrpc?.details ?? '', /checkpoint node.*Execute/);

    const api = await rest(t.http, 'GET', `/v1/nodes/${nodeId}/api`);
    assert.equal(api.status, 200, JSON.stringify(api.body));
    // Malformed protobuf to the node's typed service: INVALID_ARGUMENT, not the INTERNAL grpc-js answers by itself.
    const malformed = await rawCall(t.grpc, `/${api.body.service}/Execute`, {}, Buffer.from([0x08, 0xff, 0xff]));
    assert.equal(malformed?.code, Code.INVALID_ARGUMENT, malformed?.details);
    const alias = await rest(t.http, 'POST', '/v1/aliases', { folderId: 'default', name: 'plus-alias', targets: [{ nodeId, weight: 100 }] });
    assert.equal(alias.status, 200, JSON.stringify(alias.body));

    await suspend(nodeId);
    const says = new RegExp(`${nodeId} is suspended`);
    const viaRest = await rest(t.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 1 } });
    assert.equal(viaRest.status, 400, JSON.stringify(viaRest.body));
    assert.equal(viaRest.body.code, Code.FAILED_PRECONDITION);
    assert.match(viaRest.body.message, says);
    const viaTypedRoute = await rest(t.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: 1 });
    assert.equal(viaTypedRoute.status, 400, JSON.stringify(viaTypedRoute.body));
    assert.equal(viaTypedRoute.body.code, Code.FAILED_PRECONDITION);
    assert.match(viaTypedRoute.body.message, says);
    const viaAliasRest = await rest(t.http, 'POST', '/v1/aliases/plus-alias:execute', { folderId: 'default', input: { x: 1 } });
    assert.equal(viaAliasRest.status, 400, JSON.stringify(viaAliasRest.body));
    assert.equal(viaAliasRest.body.code, Code.FAILED_PRECONDITION);
    const viaGrpc = await grpcError(unary(c.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId, input: { x: 1 } })));
    assert.equal(viaGrpc.code, Code.FAILED_PRECONDITION, viaGrpc.details);
    assert.match(viaGrpc.details, says);
    const viaAliasGrpc = await grpcError(unary(c.nodes, 'executeAlias', AliasExecutionRequest.fromPartial({ folderId: 'default', aliasName: 'plus-alias', input: { x: 1 } })));
    assert.equal(viaAliasGrpc.code, Code.FAILED_PRECONDITION, viaAliasGrpc.details);
    const viaTypedGrpc = await rawCall(t.grpc, `/${api.body.service}/Execute`);
    assert.equal(viaTypedGrpc?.code, Code.FAILED_PRECONDITION, viaTypedGrpc?.details);
    assert.match(viaTypedGrpc!.details, says);
  });

  it('answers a Docker node with no healthy instance with UNAVAILABLE, and once suspended with FAILED_PRECONDITION, by id and by alias', async () => {
    const created = await rest(t.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'web',
      spec: { docker: { image: 'berth-test-http:latest', endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 } } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const nodeId: string = created.body.resourceId;
    const alias = await rest(t.http, 'POST', '/v1/aliases', { folderId: 'default', name: 'web-alias', targets: [{ nodeId, weight: 100 }] });
    assert.equal(alias.status, 200, JSON.stringify(alias.body));

    // Not suspended, never healthy (no Docker engine behind the process runtime): retryable.
    const starting = await fetch(`${nodeApi()}/`, { headers: { 'x-node-id': nodeId } });
    const startingBody = await starting.text();
    assert.equal(starting.status, 503, startingBody);
    assert.match(startingBody, /no healthy instance/);

    await suspend(nodeId);
    await sleep(1100); // the node API keeps what it read of a node for a second
    const ways: Array<Record<string, string>> = [{ 'x-node-id': nodeId }, { 'x-node-alias': 'web-alias', 'x-folder-id': 'default' }];
    for (const headers of ways) {
      const res = await fetch(`${nodeApi()}/`, { headers });
      const body = await res.text();
      assert.equal(res.status, 400, `${JSON.stringify(headers)}: ${body}`);
      assert.equal(JSON.parse(body).code, Code.FAILED_PRECONDITION);
      assert.match(body, new RegExp(`${nodeId} is suspended`));
      const grpcRes = await rawCall(`127.0.0.1:${t.berth.nodeApiPort}`, '/any.Service/Method', headers);
      assert.equal(grpcRes?.code, Code.FAILED_PRECONDITION, grpcRes?.details);
      assert.match(grpcRes!.details, /is suspended/);
    }
    const execute = await rest(t.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: {} });
    assert.equal(execute.status, 400, JSON.stringify(execute.body));
    assert.equal(execute.body.code, Code.FAILED_PRECONDITION);
  });
});
