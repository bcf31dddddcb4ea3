/**
 * The access log, end to end: a real `berth serve` (docker runtime, API
 * keys, no trace collector) and calls on every listener — the gRPC control
 * plane and its Execute, a checkpoint node's typed gRPC service, the REST
 * control plane and its Execute, the typed REST routes of a node and of an
 * alias, and the node API over HTTP/1.1, h2c and gRPC. Each call gives
 * exactly one `component: "access"` line at info with its method or route,
 * node or alias, code or status, duration, bytes where known, request id and
 * the caller's principal; refusals too, and their answers carry the request
 * id (the REST and node-API head, gRPC trailers). Without a collector the
 * caller's `traceparent` reaches the worker and the instance as it was sent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { buildSystemImage, buildTestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { metadataOf } from '../helpers/iam';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { callerTrace, traceNodes } from '../helpers/trace-fixtures';
import { typedClient, type TypedClient } from '../helpers/typed-client';
import { waitFor } from '../helpers/wait';

const echoProto = loadSync(path.join(__dirname, '..', 'images', 'grpc-server', 'echo.proto'), { keepCase: true });
const EchoClient = grpc.makeClientConstructor(echoProto['berth.test.Echo'] as grpc.ServiceDefinition, 'Echo');

describe('the access log of every listener', () => {
  const clusterId = `al${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-access-'));
  let serve: ServeProcess | undefined;
  let skip = false;
  let base = '';
  let nodeApi = '';
  let auth: Record<string, string> = {};
  let nodes: { checkpointNode: string; dockerNode: string };
  let grpcNode = '';
  let aliasId = '';
  let typed: TypedClient;
  let rpc: ReturnType<typeof clients>;
  let n = 0;
  /** A request id of this test, unique per call. */
  const rid = (what: string) => `${what}-${++n}-${randomBytes(3).toString('hex')}`;

  /** The access lines of one request id, once there is one; a second would show up in the same wait. */
  const accessLines = async (requestId: string): Promise<any[]> => {
    await waitFor(`the access line of ${requestId}`, async () => serve!.logs.some((l) => l.component === 'access' && l.requestId === requestId), 5000, 20);
    await new Promise((r) => setTimeout(r, 100));
    return serve!.logs.filter((l) => l.component === 'access' && l.requestId === requestId);
  };
  /** The one access line of a request id, with the fields every line has. */
  const accessLine = async (requestId: string, listener: string, principal = true): Promise<any> => {
    const lines = await accessLines(requestId);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    const line = lines[0];
    assert.equal(line.level, 30, 'at info');
    assert.equal(line.msg, 'access');
    assert.equal(line.listener, listener);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(line.durationMs >= 0);
    if (principal) {
      assert.equal(line.principal, 'admin');
      assert.match(line.principalId, /^\w+$/);
    }
    return line;
  };

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const [images, systemImage] = await Promise.all([buildTestImages(), buildSystemImage()]);
    serve = await startServe([
      '--auth', 'keys', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId, '--system-image', systemImage,
      '--pull-images', 'false', '--resync-ms', '1000',
    ]);
    base = `http://127.0.0.1:${serve.httpPort}`;
    nodeApi = `http://127.0.0.1:${serve.nodeApiPort}`;
    auth = { authorization: `Bearer ${readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim()}` };
    nodes = await traceNodes(base, images.http, auth);
    const grpcOp = await rest(base, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'echo',
      spec: {
        docker: { image: images.grpc, endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051 }, healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '0.3s' } },
        instanceRange: { min: 1, max: 1 },
      },
    }, auth);
    const done = await rest(base, 'POST', `/v1/operations/${grpcOp.body.id}:wait`, { timeout: '60s' }, auth);
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
    grpcNode = done.body.resourceId;
    const alias = await rest(base, 'POST', '/v1/aliases', { folderId: 'default', name: 'traced-alias', targets: [{ nodeId: nodes.checkpointNode, weight: 100 }] }, auth);
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    aliasId = alias.body.id;
    rpc = clients(`127.0.0.1:${serve.grpcPort}`);
    const api = (await rest(base, 'GET', `/v1/nodes/${nodes.checkpointNode}/api`, undefined, auth)).body;
    typed = typedClient(`127.0.0.1:${serve.grpcPort}`, api.protoFile, api.service);
  });

  after(async () => {
    typed?.close();
    rpc?.close();
    serve?.proc.kill('SIGKILL');
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs a gRPC control-plane call and its Execute once each, with method, node, code and principal', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const get = rid('grpc-get');
    await unary(rpc.folders, 'getFolder', { folderId: 'default' }, metadataOf({ ...auth, 'x-request-id': get }));
    const line = await accessLine(get, 'grpc');
    assert.equal(line.method, '/berth.v1.FolderService/GetFolder');
    assert.equal(line.code, 'OK');

    const caller = callerTrace();
    const exec = rid('grpc-exec');
    const answer: any = await unary(rpc.nodes, 'execute', { folderId: '', nodeId: nodes.checkpointNode, input: { x: 1 } }, metadataOf({ ...auth, 'x-request-id': exec, traceparent: caller.traceparent }));
    assert.equal(answer.output.seen, caller.traceparent, 'without a collector the worker sees the caller\'s traceparent as sent');
    const execLine = await accessLine(exec, 'grpc');
    assert.equal(execLine.method, '/berth.v1.NodeService/Execute');
    assert.equal(execLine.nodeId, nodes.checkpointNode);
    assert.equal(typeof execLine.instanceId, 'string');
    assert.equal(execLine.code, 'OK');
    assert.equal(execLine.traceId, caller.traceId);
  });

  it('logs a refused gRPC call with its code, and sends the request id in its trailers', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('grpc-refused');
    const err: any = await unary(rpc.nodes, 'getNode', { nodeId: 'nd000000000000000000' }, metadataOf({ ...auth, 'x-request-id': id })).then(
      () => assert.fail('GetNode of a missing node succeeded'),
      (e: unknown) => e,
    );
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.deepEqual(err.metadata.get('x-request-id'), [id]);
    const line = await accessLine(id, 'grpc');
    assert.equal(line.code, 'NOT_FOUND');
    assert.equal(line.nodeId, 'nd000000000000000000');
    assert.match(line.message, /not found/);
  });

  it("logs a typed gRPC Execute of a node once, as the node's service method", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('typed-grpc');
    await typed.execute({ x: 1 }, { ...auth, 'x-request-id': id });
    const line = await accessLine(id, 'grpc');
    assert.equal(line.method, `/${typed.service}/Execute`);
    assert.equal(line.nodeId, nodes.checkpointNode);
    assert.equal(line.code, 'OK');
  });

  it('logs a REST call once, as the HTTP request it was (not again as the method it is transcoded to), with status and bytes', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('rest-exec');
    const body = JSON.stringify({ input: { x: 1 } });
    const res = await fetch(`${base}/v1/nodes/${nodes.checkpointNode}:execute`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'x-request-id': id }, body });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get('x-request-id'), id);
    const line = await accessLine(id, 'http');
    assert.equal(line.method, '/berth.v1.NodeService/Execute');
    assert.equal(line.httpMethod, 'POST');
    assert.equal(line.route, '/v1/nodes/{node_id}:execute');
    assert.equal(line.path, `/v1/nodes/${nodes.checkpointNode}:execute`);
    assert.equal(line.nodeId, nodes.checkpointNode);
    assert.equal(line.code, 'OK');
    assert.equal(line.status, 200);
    assert.equal(line.bytesIn, Buffer.byteLength(body));
    assert.equal(line.bytesOut, Buffer.byteLength(text));
    // The worker's TRACEPARENT of an earlier call (the gRPC Execute sent one) is gone.
    assert.equal(JSON.parse(text).output.seen, '', 'a call without a traceparent runs without one');
  });

  it('logs a refused REST call with code and status, and answers with the request id', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('rest-refused');
    const res = await rest(base, 'GET', '/v1/nodes/nd000000000000000000', undefined, { ...auth, 'x-request-id': id });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-request-id'), id);
    const line = await accessLine(id, 'http');
    assert.equal(line.code, 'NOT_FOUND');
    assert.equal(line.status, 404);
    assert.equal(line.method, '/berth.v1.NodeService/GetNode');

    const anonymous = rid('rest-unauthenticated');
    const refused = await rest(base, 'GET', '/v1/folders/default', undefined, { 'x-request-id': anonymous });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('x-request-id'), anonymous);
    const unauthenticated = await accessLine(anonymous, 'http', false);
    assert.equal(unauthenticated.code, 'UNAUTHENTICATED');
    assert.equal(unauthenticated.principal, undefined, 'no principal for a caller without a key');
  });

  it('logs the typed REST routes of a node and of an alias, naming the node that answered', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('typed-rest');
    const res = await rest(base, 'POST', `/v1/nodes/${nodes.checkpointNode}/api:execute`, { x: 1 }, { ...auth, 'x-request-id': id });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const line = await accessLine(id, 'http');
    assert.equal(line.route, '/v1/nodes/{node_id}/api:execute');
    assert.equal(line.nodeId, nodes.checkpointNode);
    assert.equal(line.status, 200);
    assert.equal(line.code, 'OK');

    const viaAlias = rid('typed-alias');
    const aliased = await rest(base, 'POST', `/v1/aliases/${aliasId}/api:execute`, { x: 1 }, { ...auth, 'x-request-id': viaAlias });
    assert.equal(aliased.status, 200, JSON.stringify(aliased.body));
    const aliasLine = await accessLine(viaAlias, 'http');
    assert.equal(aliasLine.route, '/v1/aliases/{alias_id}/api:execute');
    assert.equal(aliasLine.aliasId, aliasId);
    assert.equal(aliasLine.nodeId, nodes.checkpointNode);
    assert.equal(aliasLine.status, 200);
  });

  it('logs a node-API call over HTTP/1.1 with node, instance, status and bytes; the instance saw the caller\'s traceparent as sent', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const caller = callerTrace();
    const id = rid('node-api-http1');
    const res = await fetch(`${nodeApi}/headers`, { headers: { ...auth, 'x-node-id': nodes.dockerNode, 'x-request-id': id, traceparent: caller.traceparent } });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id);
    assert.equal(JSON.parse(text).headers.traceparent, caller.traceparent);
    const line = await accessLine(id, 'node-api');
    assert.equal(line.protocol, 'http1');
    assert.equal(line.httpMethod, 'GET');
    assert.equal(line.path, '/headers');
    assert.equal(line.nodeId, nodes.dockerNode);
    assert.equal(typeof line.instanceId, 'string');
    assert.equal(line.status, 200);
    assert.equal(line.bytesIn, 0);
    assert.equal(line.bytesOut, Buffer.byteLength(text));
    assert.equal(line.traceId, caller.traceId);
  });

  it('logs a node-API call over h2c', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('node-api-h2c');
    const session = http2.connect(nodeApi);
    try {
      const { status, requestId } = await new Promise<{ status: number; requestId: unknown }>((resolve, reject) => {
        const req = session.request({ ':path': '/whoami', 'x-node-id': nodes.dockerNode, 'x-request-id': id, ...auth });
        req.on('response', (headers) => resolve({ status: headers[':status'] as number, requestId: headers['x-request-id'] }));
        req.on('error', reject);
        req.resume();
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(requestId, id);
    } finally {
      session.close();
    }
    const line = await accessLine(id, 'node-api');
    assert.equal(line.protocol, 'http2');
    assert.equal(line.nodeId, nodes.dockerNode);
    assert.equal(line.status, 200);
  });

  it('logs a gRPC call through the node API with its gRPC method and code', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const client = new EchoClient(`127.0.0.1:${serve!.nodeApiPort}`, grpc.credentials.createInsecure()) as any;
    try {
      const id = rid('node-api-grpc');
      const reply: any = await new Promise((resolve, reject) =>
        client.Echo({ message: 'hi' }, metadataOf({ ...auth, 'x-node-id': grpcNode, 'x-request-id': id }), (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r))),
      );
      assert.equal(reply.message, 'hi');
      const line = await accessLine(id, 'node-api');
      assert.equal(line.method, '/berth.test.Echo/Echo');
      assert.equal(line.nodeId, grpcNode);
      assert.equal(line.code, 'OK');
      assert.equal(line.status, 200);
    } finally {
      client.close();
    }
  });

  it('logs a refused node-API call and answers with the request id', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const id = rid('node-api-refused');
    const res = await fetch(`${nodeApi}/whoami`, { headers: { ...auth, 'x-node-id': 'nd000000000000000000', 'x-request-id': id } });
    await res.text();
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-request-id'), id);
    const line = await accessLine(id, 'node-api');
    assert.equal(line.code, 'NOT_FOUND');
    assert.equal(line.status, 404);

    const generated = await fetch(`${nodeApi}/whoami`, { headers: { ...auth } });
    await generated.text();
    assert.equal(generated.status, 400, 'no node named');
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'a request id of Berth\'s own when the caller sent none');
  });
});
