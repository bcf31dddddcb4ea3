/**
 * A stock grpc-js client pointed at the node API, with `x-node-id` metadata,
 * calling grpc-js instances: unary, server-streaming and client-streaming
 * calls, status codes, metadata and trailers, and the proxy's own refusals
 * as proper gRPC statuses.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { backend, MapResolver, startProxy, type TestProxy } from './support/proxy';
import { loadEcho, startGrpcUpstream, type EchoReply, type EchoRequest, type Upstream } from './support/upstreams';

type UnaryFn = (
  req: EchoRequest,
  metadata: grpc.Metadata,
  callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
) => grpc.ClientUnaryCall;

interface EchoClient extends grpc.Client {
  Unary: UnaryFn;
  ServerStream(req: EchoRequest, metadata: grpc.Metadata): grpc.ClientReadableStream<EchoReply>;
  ClientStream(
    metadata: grpc.Metadata,
    callback: (err: grpc.ServiceError | null, reply?: EchoReply) => void,
  ): grpc.ClientWritableStream<EchoRequest>;
}

interface UnaryOutcome {
  err: grpc.ServiceError | null;
  reply: EchoReply | undefined;
  head: grpc.Metadata | undefined;
  status: grpc.StatusObject | undefined;
}

function unary(client: EchoClient, req: EchoRequest, metadata: grpc.Metadata): Promise<UnaryOutcome> {
  return new Promise<UnaryOutcome>((resolve) => {
    let head: grpc.Metadata | undefined;
    let status: grpc.StatusObject | undefined;
    let result: { err: grpc.ServiceError | null; reply: EchoReply | undefined } | undefined;
    const done = (): void => {
      if (result !== undefined && status !== undefined) resolve({ ...result, head, status });
    };
    const call = client.Unary(req, metadata, (err, reply) => {
      result = { err, reply };
      done();
    });
    call.on('metadata', (m: grpc.Metadata) => {
      head = m;
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      done();
    });
  });
}

function meta(entries: Record<string, string>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

describe('node API with gRPC', () => {
  const resolver = new MapResolver();
  let a: Upstream;
  let b: Upstream;
  let proxy: TestProxy;
  let client: EchoClient;

  before(async () => {
    a = await startGrpcUpstream('ga');
    b = await startGrpcUpstream('gb');
    resolver.node('echo', 'grpc', [backend('ga', a.port), backend('gb', b.port)]);
    resolver.node('down', 'grpc', []);
    proxy = await startProxy(resolver);
    const Echo = loadEcho();
    client = new Echo(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
  });

  after(async () => {
    client.close();
    await proxy.close();
    await a.close();
    await b.close();
  });

  it('relays a unary call with metadata both ways and custom trailers', async () => {
    const out = await unary(
      client,
      { message: 'hi' },
      meta({ 'x-node-id': 'echo', 'x-folder-id': 'f1', authorization: 'Bearer g', 'x-echo': 'ping' }),
    );
    assert.equal(out.err, null);
    assert.equal(out.reply?.message, 'hi');
    assert.equal(out.reply?.sawRoutingHeaders, false);
    assert.equal(out.reply?.authorization ?? '', '', 'the API key is not passed on to the instance');
    assert.deepEqual(out.head?.get('x-echo'), ['ping']);
    assert.equal(out.status?.code, grpc.status.OK);
    assert.match(String(out.status?.metadata.get('x-trailer')[0]), /^from-g[ab]$/);
    // Who answered, in the initial metadata; the instance's own entries of these names are dropped.
    assert.deepEqual(out.head?.get('x-berth-node-id'), ['echo']);
    assert.deepEqual(out.head?.get('x-berth-instance-id'), [out.reply?.instance]);
    assert.deepEqual(out.status?.metadata.get('x-berth-instance-id'), []);
  });

  it('relays error statuses with their messages and trailers', async () => {
    for (const code of [grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.INTERNAL]) {
      const out = await unary(client, { message: 'x', status: code }, meta({ 'x-node-id': 'echo' }));
      assert.equal(out.err?.code, code);
      assert.equal(out.err?.details, `requested status ${code}`);
      assert.match(String(out.status?.metadata.get('x-trailer')[0]), /^from-g[ab]$/);
    }
  });

  it('spreads unary calls over both instances', async () => {
    const outs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => unary(client, { message: String(i) }, meta({ 'x-node-id': 'echo' }))),
    );
    assert.deepEqual([...new Set(outs.map((o) => o.reply?.instance))].sort(), ['ga', 'gb']);
  });

  it('relays a server-streaming call', async () => {
    const call = client.ServerStream({ message: 's', count: 50 }, meta({ 'x-node-id': 'echo' }));
    const replies: EchoReply[] = [];
    const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
      call.on('data', (r: EchoReply) => replies.push(r));
      call.on('status', resolve);
      call.on('error', reject);
    });
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get('x-trailer'), ['stream-done']);
    assert.equal(replies.length, 50);
    assert.equal(replies[49]?.message, 's#49');
  });

  it('relays a client-streaming call', async () => {
    const reply = await new Promise<EchoReply | undefined>((resolve, reject) => {
      const call = client.ClientStream(meta({ 'x-node-id': 'echo' }), (err, r) => (err ? reject(err) : resolve(r)));
      for (let i = 0; i < 20; i++) call.write({ message: `m${i}` });
      call.end();
    });
    assert.equal(reply?.index, 20);
    assert.equal(reply?.message.split(',').length, 20);
    assert.equal(reply?.message.split(',')[19], 'm19');
  });

  it('answers NOT_FOUND for an unknown node', async () => {
    const out = await unary(client, { message: 'x' }, meta({ 'x-node-id': 'nope' }));
    assert.equal(out.err?.code, grpc.status.NOT_FOUND);
    assert.equal(out.err?.details, 'node nope not found');
  });

  it('answers INVALID_ARGUMENT without a routing header', async () => {
    const out = await unary(client, { message: 'x' }, new grpc.Metadata());
    assert.equal(out.err?.code, grpc.status.INVALID_ARGUMENT);
  });

  it('answers UNAVAILABLE when the node has no healthy instance', async () => {
    const out = await unary(client, { message: 'x' }, meta({ 'x-node-id': 'down' }));
    assert.equal(out.err?.code, grpc.status.UNAVAILABLE);
    assert.equal(out.err?.details, 'node down has no healthy instance');
    assert.deepEqual(out.status?.metadata.get('x-berth-node-id'), ['down']);
    assert.deepEqual(out.status?.metadata.get('x-berth-instance-id'), [], 'no instance answered');
  });

  it('reports gRPC statuses to the metrics hook', async () => {
    const n = proxy.events.length;
    await unary(client, { message: 'x', status: grpc.status.ABORTED }, meta({ 'x-node-id': 'echo' }));
    await new Promise((r) => setTimeout(r, 20));
    const event = proxy.events.slice(n).find((e) => e.grpcStatus === grpc.status.ABORTED);
    assert.ok(event, JSON.stringify(proxy.events.slice(n)));
    assert.equal(event.grpc, true);
    assert.equal(event.protocol, 'http2');
    assert.equal(event.httpStatus, 200);
  });
});
