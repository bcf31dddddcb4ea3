/**
 * The node API's protections: body size limits, the endpoint's call and
 * idle timeouts, resending a call that a dead instance never received,
 * cancellation, and a graceful stop.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InFlightBalancer } from '../../src/gateway/balancer';
import { backend, generate, h2request, MapResolver, request, startProxy, type TestProxy } from './support/proxy';
import {
  closedPort,
  loadEcho,
  startGrpcUpstream,
  startHttpUpstream,
  type EchoReply,
  type EchoRequest,
  type Upstream,
} from './support/upstreams';

const LIMIT = 64 * 1024;

interface EchoClient extends grpc.Client {
  Unary(
    req: EchoRequest,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientUnaryCall;
  ClientStream(
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientWritableStream<EchoRequest>;
}

function nodeMeta(nodeId: string, extra: Record<string, string> = {}): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-node-id', nodeId);
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

function callUnary(client: EchoClient, req: EchoRequest, metadata: grpc.Metadata): Promise<grpc.ServiceError | EchoReply> {
  return new Promise((resolve) => {
    client.Unary(req, metadata, {}, (err, reply) => resolve(err ?? (reply as EchoReply)));
  });
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('node API limits, timeouts and retries', () => {
  const resolver = new MapResolver();
  const balancer = new InFlightBalancer();
  let web: Upstream;
  let grpcUp: Upstream;
  let proxy: TestProxy;
  let client: EchoClient;
  let session: http2.ClientHttp2Session;

  before(async () => {
    web = await startHttpUpstream('web');
    grpcUp = await startGrpcUpstream('g');
    const dead = await closedPort();
    resolver.node('web', 'http', [backend('web', web.port)]);
    resolver.node('slow', 'http', [backend('web', web.port)], { timeoutMs: 150 });
    resolver.node('idle', 'http', [backend('web', web.port)], { idleTimeoutMs: 150 });
    resolver.node('gslow', 'grpc', [backend('g', grpcUp.port)], { timeoutMs: 150 });
    resolver.node('gidle', 'grpc', [backend('g', grpcUp.port)], { idleTimeoutMs: 150 });
    resolver.node('flaky', 'http', [backend('dead-h1', dead), backend('web', web.port)]);
    resolver.node('gflaky', 'grpc', [backend('dead-h2', dead), backend('g', grpcUp.port)]);
    resolver.node('alldead', 'http', [backend('dead-1', dead), backend('dead-2', dead)]);
    resolver.node('g', 'grpc', [backend('g', grpcUp.port)]);
    proxy = await startProxy(resolver, { maxBodyBytes: LIMIT, balancer });
    client = new (loadEcho())(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    session = http2.connect(`http://127.0.0.1:${proxy.port}`);
  });

  after(async () => {
    client.close();
    session.close();
    await proxy.close();
    await web.close();
    await grpcUp.close();
  });

  describe('body size', () => {
    it('refuses an oversized content-length with 413 at once, unseen by the instance', async () => {
      const seen = web.seen.length;
      const res = await request(proxy.port, {
        method: 'POST',
        path: '/digest',
        headers: { 'x-node-id': 'web', 'content-length': String(LIMIT + 1) },
        body: Buffer.alloc(LIMIT + 1),
      });
      assert.equal(res.status, 413);
      assert.equal(JSON.parse(res.body.toString()).code, 8);
      assert.equal(res.headers.connection, 'close');
      assert.equal(web.seen.length, seen);
    });

    it('refuses an oversized content-length with RESOURCE_EXHAUSTED to an h2 gRPC caller', async () => {
      const seen = grpcUp.seen.length;
      const res = await h2request(
        session,
        {
          ':method': 'POST',
          ':path': '/berth.test.v1.Echo/Unary',
          'content-type': 'application/grpc',
          'content-length': String(LIMIT + 10),
          'x-node-id': 'g',
        },
        Buffer.alloc(LIMIT + 10),
      ).catch((err: Error) => err);
      assert.ok(!(res instanceof Error), String(res));
      assert.equal(res.headers['grpc-status'], '8');
      assert.equal(res.headersEndedStream, true);
      assert.equal(grpcUp.seen.length, seen);
    });

    it('stops a streamed upload without content-length at the limit with 413', async () => {
      const res = await request(proxy.port, {
        method: 'POST',
        path: '/digest',
        headers: { 'x-node-id': 'web', 'transfer-encoding': 'chunked' },
        body: generate(LIMIT * 4, 16 * 1024),
      }).catch((err: Error) => err);
      // Either the 413 arrives, or the connection is closed while the client is still sending.
      if (!(res instanceof Error)) assert.equal(res.status, 413);
    });

    it('stops a gRPC message over the limit with RESOURCE_EXHAUSTED', async () => {
      const out = await callUnary(client, { message: 'x'.repeat(LIMIT * 2) }, nodeMeta('g'));
      assert.equal((out as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
    });

    it('answers 502 for a response with a content-length over the limit', async () => {
      const res = await request(proxy.port, { path: `/sized/${LIMIT + 1}`, headers: { 'x-node-id': 'web' } });
      assert.equal(res.status, 502);
      assert.equal(JSON.parse(res.body.toString()).code, 8);
    });

    it('cuts a streamed response that grows over the limit', async () => {
      const res = await request(proxy.port, { path: `/bytes/${LIMIT * 4}`, headers: { 'x-node-id': 'web' } }).catch(
        (err: Error) => err,
      );
      assert.ok(res instanceof Error, 'the truncated response must not look complete');
    });

    it('lets a body at the limit through', async () => {
      const res = await request(proxy.port, {
        method: 'POST',
        path: '/digest',
        headers: { 'x-node-id': 'web' },
        body: Buffer.alloc(LIMIT, 1),
      });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body.toString()).bytes, LIMIT);
    });
  });

  describe('timeouts', () => {
    it('answers 504 when the call outlives the endpoint timeout', async () => {
      const res = await request(proxy.port, { path: '/slow/2000', headers: { 'x-node-id': 'slow' } });
      assert.equal(res.status, 504);
      assert.equal(JSON.parse(res.body.toString()).code, 4);
    });

    it('answers DEADLINE_EXCEEDED to a gRPC call that outlives the endpoint timeout', async () => {
      const out = await callUnary(client, { message: 'x', delayMs: 2000 }, nodeMeta('gslow'));
      assert.equal((out as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
    });

    it('cuts an HTTP response that goes idle after its head', async () => {
      const res = await request(proxy.port, { path: '/drip/2000', headers: { 'x-node-id': 'idle' } }).catch(
        (err: Error) => err,
      );
      assert.ok(res instanceof Error);
    });

    it('ends a gRPC call that goes idle after its head with DEADLINE_EXCEEDED in the trailers', async () => {
      const out = await callUnary(client, { message: 'x', delayMs: 2000 }, nodeMeta('gidle', { 'x-echo': 'early' }));
      assert.equal((out as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED);
    });
  });

  describe('dead instances', () => {
    it('resends an HTTP call to the other instance and reports the dead one', async () => {
      // Make the live instance look busier so that the dead one is always tried first.
      balancer.begin('web');
      try {
        const before = resolver.failures.length;
        const res = await request(proxy.port, { method: 'POST', path: '/echo', headers: { 'x-node-id': 'flaky' }, body: 'again' });
        assert.equal(res.status, 201);
        assert.equal(res.body.toString(), 'again');
        const failure = resolver.failures[before];
        assert.equal(failure?.nodeId, 'flaky');
        assert.equal(failure?.instanceId, 'dead-h1');
        assert.equal((failure?.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      } finally {
        balancer.end('web');
      }
    });

    it('resends a gRPC call to the other instance and reports the dead one', async () => {
      balancer.begin('g');
      try {
        const before = resolver.failures.length;
        const out = await callUnary(client, { message: 'still' }, nodeMeta('gflaky'));
        assert.equal((out as EchoReply).message, 'still');
        assert.equal(resolver.failures[before]?.instanceId, 'dead-h2');
      } finally {
        balancer.end('g');
      }
    });

    it('answers 502 UNAVAILABLE when no instance can be reached', async () => {
      const res = await request(proxy.port, { path: '/hello', headers: { 'x-node-id': 'alldead' } });
      assert.equal(res.status, 502);
      assert.equal(JSON.parse(res.body.toString()).code, 14);
      const event = proxy.events.at(-1);
      assert.equal(event?.attempts, 2);
    });
  });

  describe('cancellation', () => {
    it('cancels the instance call when the gRPC caller cancels, and leaves nothing in flight', async () => {
      const result = await new Promise<grpc.ServiceError | undefined>((resolve) => {
        const call = client.Unary({ message: 'x', delayMs: 500 }, nodeMeta('g'), {}, (err) => resolve(err ?? undefined));
        setTimeout(() => call.cancel(), 50);
      });
      assert.equal(result?.code, grpc.status.CANCELLED);
      await eventually(() => proxy.server.inFlight() === 0 && balancer.inFlightOf('g') === 0, 'calls to drain');
    });

    it('aborts the instance request when an HTTP caller disconnects', async () => {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/slow/500', headers: { 'x-node-id': 'web' } });
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      await eventually(() => proxy.server.inFlight() === 0 && balancer.inFlightOf('web') === 0, 'calls to drain');
    });
  });
});

describe('node API graceful stop', () => {
  it('lets a call in flight finish, then stops', async () => {
    const resolver = new MapResolver();
    const web = await startHttpUpstream('web');
    resolver.node('web', 'http', [backend('web', web.port)]);
    const proxy = await startProxy(resolver);
    try {
      const pending = request(proxy.port, { path: '/slow/200', headers: { 'x-node-id': 'web' } });
      await new Promise((r) => setTimeout(r, 50));
      const stopping = proxy.close();
      const res = await pending;
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'late');
      await stopping;
      await assert.rejects(request(proxy.port, { path: '/hello', headers: { 'x-node-id': 'web' } }));
    } finally {
      await web.close();
    }
  });
});
