/**
 * The node API with prior-knowledge h2c callers, on the same port as
 * HTTP/1.1: to h2c instances (trailers relayed) and to HTTP/1.1 instances
 * (translated), plus the connection sniffing on its own.
 */

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { backend, h2request, MapResolver, request, startProxy, type TestProxy } from './support/proxy';
import { startH2cUpstream, startHttpUpstream, type Upstream } from './support/upstreams';

describe('node API over h2c', () => {
  const resolver = new MapResolver();
  let h1: Upstream;
  let h2a: Upstream;
  let h2b: Upstream;
  let proxy: TestProxy;
  let session: http2.ClientHttp2Session;

  before(async () => {
    h1 = await startHttpUpstream('h1');
    h2a = await startH2cUpstream('h2a');
    h2b = await startH2cUpstream('h2b');
    resolver.node('web', 'http', [backend('h1', h1.port)]);
    resolver.node('h2', 'grpc', [backend('h2a', h2a.port), backend('h2b', h2b.port)]);
    proxy = await startProxy(resolver);
    session = http2.connect(`http://127.0.0.1:${proxy.port}`);
  });

  after(async () => {
    session.close();
    await proxy.close();
    await Promise.all([h1.close(), h2a.close(), h2b.close()]);
  });

  it('relays a GET to an h2c instance with its trailers', async () => {
    const res = await h2request(session, { ':path': '/thing', 'x-node-id': 'h2', 'x-folder-id': 'f' });
    assert.equal(res.headers[':status'], 200);
    assert.match(String(res.headers['x-upstream']), /^h2[ab]$/);
    assert.equal(res.headers['x-saw-routing'], 'false');
    assert.equal(res.body.toString(), '/thing ');
    assert.equal(res.trailers?.['x-trailer'], 'done');
    assert.equal(res.headers['x-berth-node-id'], 'h2');
    assert.equal(res.headers['x-berth-instance-id'], res.headers['x-upstream'], 'the instance that answered, not the one it claims to be');
    assert.equal(res.trailers?.['x-berth-instance-id'], undefined);
  });

  it('relays a POST body to an h2c instance', async () => {
    const res = await h2request(session, { ':method': 'POST', ':path': '/post', 'x-node-id': 'h2' }, 'payload');
    assert.equal(res.body.toString(), '/post payload');
  });

  it('spreads streams of one caller session over both h2c instances', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, () => h2request(session, { ':path': '/spread', 'x-node-id': 'h2' })),
    );
    const served = new Set(results.map((r) => r.headers['x-upstream']));
    assert.deepEqual([...served].sort(), ['h2a', 'h2b']);
  });

  it('translates an h2c caller to an HTTP/1.1 instance', async () => {
    const res = await h2request(session, { ':path': '/hello', 'x-node-id': 'web', authorization: 'Bearer t' });
    assert.equal(res.headers[':status'], 200);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    const seen = JSON.parse(res.body.toString()) as { headers: Record<string, string>; sawRouting: boolean };
    assert.equal(seen.headers.host, `127.0.0.1:${proxy.port}`);
    assert.equal(seen.headers.authorization, undefined, 'the API key is not passed on to the instance');
    assert.equal(seen.sawRouting, false);

    const echo = await h2request(session, { ':method': 'POST', ':path': '/echo', 'x-node-id': 'web' }, 'abc');
    assert.equal(echo.headers[':status'], 201);
    assert.equal(echo.body.toString(), 'abc');

    const trailers = await h2request(session, { ':path': '/trailers', 'x-node-id': 'web' });
    assert.equal(trailers.trailers?.['x-checksum'], 'abc123');
  });

  it('translates an HTTP/1.1 caller to an h2c instance, trailers included', async () => {
    const res = await request(proxy.port, { method: 'POST', path: '/from-h1', headers: { 'x-node-id': 'h2' }, body: 'xyz' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['x-upstream']), /^h2[ab]$/);
    assert.equal(res.body.toString(), '/from-h1 xyz');
    assert.equal(res.trailers['x-trailer'], 'done');
  });

  it('answers a HEAD from an h2c caller with the head only', async () => {
    const res = await h2request(session, { ':method': 'HEAD', ':path': '/hello', 'x-node-id': 'web' });
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.body.length, 0);
  });

  it('answers 404 JSON to an HTTP caller of an unknown node', async () => {
    const res = await h2request(session, { ':path': '/', 'x-node-id': 'nope' });
    assert.equal(res.headers[':status'], 404);
    assert.deepEqual(JSON.parse(res.body.toString()), { code: 5, message: 'node nope not found', details: [] });
  });

  it('answers a trailers-only NOT_FOUND to a gRPC caller of an unknown node', async () => {
    const res = await h2request(
      session,
      { ':method': 'POST', ':path': '/pkg.Svc/Do', 'content-type': 'application/grpc', te: 'trailers', 'x-node-id': 'nope' },
      Buffer.from([0, 0, 0, 0, 0]),
    );
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headersEndedStream, true);
    assert.equal(res.headers['grpc-status'], '5');
    assert.equal(res.headers['grpc-message'], 'node nope not found');
  });

  it('serves HTTP/1.1 and h2c on the same port', async () => {
    const res = await request(proxy.port, { path: '/hello', headers: { 'x-node-id': 'web' } });
    assert.equal(res.status, 200);
  });
});

describe('protocol sniffing', () => {
  const resolver = new MapResolver();
  let h1: Upstream;
  let proxy: TestProxy;

  before(async () => {
    h1 = await startHttpUpstream('h1');
    resolver.node('web', 'http', [backend('h1', h1.port)]);
    proxy = await startProxy(resolver);
  });

  after(async () => {
    await proxy.close();
    await h1.close();
  });

  /** Writes `pieces` with pauses in between and returns the first bytes answered. */
  function dribble(pieces: string[]): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect(proxy.port, '127.0.0.1');
      socket.once('data', (data: Buffer) => {
        socket.destroy();
        resolve(data);
      });
      socket.on('error', reject);
      socket.once('connect', async () => {
        for (const piece of pieces) {
          socket.write(piece);
          await new Promise((r) => setTimeout(r, 15));
        }
      });
    });
  }

  it('recognises an HTTP/2 preface split over several segments', async () => {
    const reply = await dribble(['P', 'RI * HTTP/2', '.0\r\n\r\nSM\r', '\n\r\n', '\x00\x00\x00\x04\x00\x00\x00\x00\x00']);
    // The server's preface is a SETTINGS frame: type 0x4 in the fourth byte.
    assert.equal(reply[3], 0x04);
  });

  it('sends methods that start like the preface (PUT, POST) to HTTP/1.1', async () => {
    const reply = await dribble(['P', 'U', 'T /echo HTTP/1.1\r\nhost: localhost\r\nx-node-id: web\r\ncontent-length: 2\r\n\r\nok']);
    assert.match(reply.toString('latin1'), /^HTTP\/1\.1 (201|404)/);
  });
});
