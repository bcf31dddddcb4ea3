/**
 * Every request's objects are released once it is answered, on every path a
 * caller can take: REST and gRPC control plane, Execute over REST and gRPC,
 * the typed REST route and the typed gRPC service of a checkpoint node, and
 * the node API over HTTP/1.1, h2c and gRPC.
 *
 * Execute once kept every call reachable (its AbortSignal.any/timeout signal
 * sat in Node's set of signals with listeners, holding the abort reason's
 * stack and through it the request and response): RSS grew by about 9 KB a
 * call. Here each path makes CALLS calls, then a heap snapshot (which collects
 * all garbage first) counts the per-request objects still alive: they must not
 * have grown with the calls. No timing, no --expose-gc.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { FolderServiceClient } from '../../gen/berth/v1/folder_service';
import { NodeServiceClient } from '../../gen/berth/v1/node_service';
import { createNodeApiServer, type NodeApiResolver, type NodeApiServer, type ResolvedTarget } from '../../src/gateway/node-api';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { rest } from '../helpers/rest';
import { startGrpcUpstream, startHttpUpstream, type Upstream } from './support/upstreams';

/** Calls per path; a leak of one object per call shows as CALLS more live objects. */
const CALLS = 200;
/** Live objects a path may add without leaking: keep-alive sockets, pooled sessions, caches. */
const SLACK = 30;
const CONCURRENCY = 4;

/**
 * Classes with one instance (or more) per request on some path, server or
 * client side. Http2Stream (the base of the server and client stream classes,
 * which Node does not export) is taken from a stream once one exists.
 */
const PER_REQUEST: Record<string, Function> = {
  ServerResponse: http.ServerResponse,
  IncomingMessage: http.IncomingMessage,
  ClientRequest: http.ClientRequest,
  AbortController,
  EventTarget,
  DOMException,
  WeakRef,
  Metadata: grpc.Metadata,
};

/**
 * How many objects of each class are alive. `v8.queryObjects` counts after a
 * full garbage collection (weak references included), so the count is what is
 * still reachable: no --expose-gc, no timing.
 */
function liveObjects(): Record<string, number> {
  return Object.fromEntries(Object.entries(PER_REQUEST).map(([name, ctor]) => [name, v8.queryObjects(ctor, { format: 'count' }) as number]));
}

const NOTEBOOK = JSON.stringify({
  cells: [
    { cell_type: 'code', source: 'k = 2', metadata: {}, outputs: [], execution_count: null },
    { cell_type: 'code', source: 'y = x * k', metadata: {}, outputs: [], execution_count: null },
  ],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});

async function must(method: string, base: string, path: string, body?: unknown): Promise<any> {
  const res = await rest(base, method, path, body);
  assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
  return res.body;
}

async function waitDone(base: string, op: any): Promise<any> {
  const done = await must('POST', base, `/v1/operations/${op.id}:wait`, { timeout: '60s' });
  assert.equal(done.error, undefined, JSON.stringify(done.error));
  return done;
}

/** Makes `calls` calls, CONCURRENCY at a time. */
async function repeat(calls: number, call: () => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < calls) await call();
    }),
  );
}

function httpCall(agent: http.Agent, port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<void> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: payload ? { ...headers, 'content-type': 'application/json', 'content-length': payload.length } : headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${method} ${path}: ${res.statusCode} ${Buffer.concat(chunks).toString()}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function grpcCall(client: grpc.Client, method: string, request: Buffer, metadata = new grpc.Metadata()): Promise<void> {
  const identity = (b: Buffer): Buffer => b;
  return new Promise((resolve, reject) => client.makeUnaryRequest(method, identity, identity, request, metadata, (err) => (err ? reject(err) : resolve())));
}

function h2cCall(session: http2.ClientHttp2Session, path: string, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path, ...headers });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', () => undefined);
    stream.on('end', () => (status === 200 ? resolve() : reject(new Error(`h2c GET ${path}: ${status}`))));
    stream.on('error', reject);
    stream.end();
  });
}

/** A path a caller can take, and one call on it that must succeed. */
interface CallPath {
  name: string;
  call(): Promise<void>;
}

describe('per-request objects are released after the answer', () => {
  let t: TestBerth;
  let createdNode: string | undefined;
  const paths: CallPath[] = [];
  const closers: Array<() => unknown> = [];

  before(async () => {
    t = (await startTestBerth('sqlite'))!;
    const httpPort = t.berth.httpPort;
    const capture = await waitDone(t.http, await must('POST', t.http, '/v1/checkpoints', { folderId: 'default', name: 'leak', notebook: NOTEBOOK, servedCellIndex: 1 }));
    const created = await must('POST', t.http, '/v1/nodes', {
      folderId: 'default',
      name: 'leak',
      spec: {
        checkpoint: {
          checkpointId: capture.response.id,
          inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }],
          outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }],
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    const nodeId = created.resourceId as string;
    createdNode = nodeId;
    await waitDone(t.http, created);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const folders = new FolderServiceClient(t.grpc, grpc.credentials.createInsecure());
    const nodes = new NodeServiceClient(t.grpc, grpc.credentials.createInsecure());
    const raw = new grpc.Client(t.grpc, grpc.credentials.createInsecure());
    closers.push(() => agent.destroy(), () => folders.close(), () => nodes.close(), () => raw.close());
    const api = await must('GET', t.http, `/v1/nodes/${nodeId}/api`);

    // The node API, Docker-free: the proxy Berth runs, in front of local HTTP/1.1 and gRPC instances.
    const [h1, g] = await Promise.all([startHttpUpstream('h1'), startGrpcUpstream('g')]);
    closers.push(() => h1.close(), () => g.close());
    const target = (id: string, endpointType: 'http' | 'grpc', upstream: Upstream): ResolvedTarget => ({
      nodeId: id,
      endpointType,
      backends: [{ instanceId: `${id}-1`, host: '127.0.0.1', port: upstream.port }],
      timeoutMs: 30_000,
      idleTimeoutMs: 0,
    });
    const targets = new Map([
      ['h1', target('h1', 'http', h1)],
      ['g', target('g', 'grpc', g)],
    ]);
    const resolver: NodeApiResolver = { resolve: (route) => targets.get(route.nodeId ?? '')! };
    const proxy: NodeApiServer = createNodeApiServer({ resolver, logger: pino({ level: 'silent' }), drainTimeoutMs: 2_000 });
    const proxyPort = (await proxy.listen(0, '127.0.0.1')).port;
    const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    const proxied = new grpc.Client(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure());
    closers.unshift(() => session.close(), () => proxied.close(), () => proxy.close());
    const routed = new grpc.Metadata();
    routed.set('x-node-id', 'g');

    // Http2Stream, the base class of server and client streams (gRPC and h2c), from a stream that is never sent.
    const probe = session.request({ ':path': '/' }, { endStream: false });
    PER_REQUEST.Http2Stream = Object.getPrototypeOf(Object.getPrototypeOf(probe)).constructor as Function;
    probe.close();

    paths.push(
      { name: 'REST control plane (GET /v1/folders)', call: () => httpCall(agent, httpPort, 'GET', '/v1/folders') },
      {
        name: 'gRPC control plane (ListFolders)',
        call: () => new Promise((resolve, reject) => folders.listFolders({ pageSize: 0, pageToken: '', filter: '' }, (err) => (err ? reject(err) : resolve()))),
      },
      { name: 'Execute over REST', call: () => httpCall(agent, httpPort, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 3 } }) },
      {
        name: 'Execute over gRPC',
        call: () =>
          new Promise((resolve, reject) =>
            nodes.execute({ folderId: 'default', nodeId, input: { x: 3 } }, (err, res) => (err ? reject(err) : res.output?.y === 6 ? resolve() : reject(new Error(JSON.stringify(res))))),
          ),
      },
      { name: 'typed REST route', call: () => httpCall(agent, httpPort, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: 3 }) },
      // The typed request {x: 3}: field 1, varint 3.
      { name: 'typed gRPC service', call: () => grpcCall(raw, `/${api.service}/Execute`, Buffer.from([0x08, 0x03])) },
      { name: 'node API over HTTP/1.1', call: () => httpCall(agent, proxyPort, 'GET', '/hello', undefined, { 'x-node-id': 'h1' }) },
      { name: 'node API over h2c', call: () => h2cCall(session, '/hello', { 'x-node-id': 'h1' }) },
      // berth.test.v1.Echo/Unary { message: "x" }
      { name: 'node API over gRPC', call: () => grpcCall(proxied, '/berth.test.v1.Echo/Unary', Buffer.from([0x0a, 0x01, 0x78]), routed.clone()) },
    );
  });

  after(async () => {
    for (const close of closers) await close();
    // The instance would outlive a stopped Berth (the next start adopts it).
    if (t && createdNode) await waitDone(t.http, await must('DELETE', t.http, `/v1/nodes/${createdNode}`));
    await t?.close();
  });

  it('no request on any path stays reachable once answered', async () => {
    // First calls build caches, pools, connections and compiled code. The typed
    // service is registered when Berth syncs its checkpoint nodes: retried until it is.
    for (const p of paths) {
      for (let i = 0; ; i++) {
        try {
          await repeat(20, p.call);
          break;
        } catch (err) {
          if (i >= 50) throw new Error(`${p.name}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const before = liveObjects();
    for (const p of paths) await repeat(CALLS, p.call).catch((err: Error) => assert.fail(`${p.name}: ${err.message}`));
    const afterCalls = liveObjects();
    const grown = Object.keys(PER_REQUEST)
      .filter((name) => afterCalls[name]! - before[name]! > SLACK)
      .map((name) => `${name}: ${before[name]} → ${afterCalls[name]}`);
    assert.deepEqual(grown, [], `objects still alive after ${CALLS} calls on each of ${paths.map((p) => p.name).join(', ')}`);
  });
});
