/**
 * CORS on the node API is Berth's alone: an instance's own
 * `access-control-*` headers never reach the caller (so an instance cannot
 * grant a web page access through Berth), a page of a listed origin gets
 * Berth's grant instead, and refused or preflight requests never reach an
 * instance. Over HTTP/1.1 and h2c callers.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { backend, h2request, MapResolver, request, startProxy, type TestProxy } from './support/proxy';

const APP = 'http://app.example:3000';

/** An instance that grants every origin, with credentials: what Berth must not relay. */
async function permissiveInstance(): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, {
      'content-type': 'text/plain',
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'access-control-allow-headers': '*',
      vary: 'Accept-Encoding',
    });
    res.end('from the instance');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function corsHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-')));
}

describe('node API: CORS is Berth’s', () => {
  let instance: Awaited<ReturnType<typeof permissiveInstance>>;
  let proxy: TestProxy;
  let session: http2.ClientHttp2Session;
  const route = { 'x-node-id': 'web' };
  before(async () => {
    instance = await permissiveInstance();
    const resolver = new MapResolver();
    resolver.node('web', 'http', [backend('i1', instance.port)]);
    proxy = await startProxy(resolver, { browser: { corsOrigins: [APP] } });
    session = http2.connect(`http://127.0.0.1:${proxy.port}`);
  });
  after(async () => {
    session.close();
    await proxy.close();
    await instance.close();
  });

  it('drops the instance’s own CORS headers from every answer', async () => {
    const res = await request(proxy.port, { path: '/plain', headers: route });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'from the instance');
    assert.deepEqual(corsHeaders(res.headers), {});
    assert.equal(res.headers.vary, 'Accept-Encoding');
    const h2 = await h2request(session, { ':method': 'GET', ':path': '/plain-h2', ...route });
    assert.equal(h2.headers[':status'], 200);
    assert.deepEqual(corsHeaders(h2.headers), {});
  });

  it('gives a listed origin Berth’s grant instead: that origin, no credentials, Vary: Origin added', async () => {
    const res = await request(proxy.port, { path: '/listed', headers: { ...route, origin: APP } });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res.headers), { 'access-control-allow-origin': APP, 'access-control-expose-headers': '*' });
    assert.equal(res.headers.vary, 'Accept-Encoding, Origin');
    const h2 = await h2request(session, { ':method': 'GET', ':path': '/listed-h2', origin: APP, ...route });
    assert.equal(h2.headers['access-control-allow-origin'], APP);
    assert.equal(h2.headers['access-control-allow-credentials'], undefined);
    // Berth's own refusals too, so that the page can read why.
    const unknown = await request(proxy.port, { path: '/x', headers: { 'x-node-id': 'nope', origin: APP } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers['access-control-allow-origin'], APP);
    const h2Unknown = await h2request(session, { ':method': 'GET', ':path': '/x', 'x-node-id': 'nope', origin: APP });
    assert.equal(h2Unknown.headers[':status'], 404);
    assert.equal(h2Unknown.headers['access-control-allow-origin'], APP);
  });

  it('answers a listed origin’s preflight itself, and lets no refused request reach the instance', async () => {
    const before = instance.seen.length;
    const preflight = await request(proxy.port, { method: 'OPTIONS', path: '/listed', headers: { origin: APP, 'access-control-request-method': 'PUT' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], APP);
    const h2Preflight = await h2request(session, { ':method': 'OPTIONS', ':path': '/listed', origin: APP, 'access-control-request-method': 'PUT' });
    assert.equal(h2Preflight.headers[':status'], 204);
    const refused = await request(proxy.port, { method: 'POST', path: '/write', headers: { ...route, origin: 'http://evil.example', 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(refused.status, 403);
    assert.deepEqual(corsHeaders(refused.headers), {});
    const rebound = await request(proxy.port, { path: '/read', headers: { ...route, host: `rebind.test:${proxy.port}` } });
    assert.equal(rebound.status, 403);
    assert.equal(instance.seen.length, before, `the instance saw ${JSON.stringify(instance.seen.slice(before))}`);
    assert.equal(proxy.events.at(-1)?.httpStatus, 403);
  });
});
