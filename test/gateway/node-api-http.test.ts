/**
 * The node API with HTTP/1.1 callers and HTTP/1.1 instances: bodies,
 * headers, statuses and trailers pass unchanged, calls spread over
 * instances, refusals are JSON with the mapped status.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { backend, generate, MapResolver, request, startProxy, type TestProxy } from './support/proxy';
import { startHttpUpstream, type Upstream } from './support/upstreams';

describe('node API over HTTP/1.1', () => {
  const resolver = new MapResolver();
  let a: Upstream;
  let b: Upstream;
  let proxy: TestProxy;
  let agent: http.Agent;
  const node = { 'x-node-id': 'web', 'x-folder-id': 'f1', authorization: 'Bearer k1' };

  before(async () => {
    a = await startHttpUpstream('a');
    b = await startHttpUpstream('b');
    resolver.node('web', 'http', [backend('a', a.port), backend('b', b.port)]);
    resolver.node('empty', 'http', []);
    resolver.aliases.set('site', 'web');
    proxy = await startProxy(resolver);
    agent = new http.Agent({ keepAlive: true });
  });

  after(async () => {
    agent.destroy();
    await proxy.close();
    await a.close();
    await b.close();
  });

  it('relays a GET with its headers, minus the routing headers, and the response headers', async () => {
    const res = await request(proxy.port, { path: '/hello?q=1', headers: { ...node, 'x-custom': 'v' }, agent });
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    const seen = JSON.parse(res.body.toString()) as { url: string; method: string; headers: Record<string, string>; sawRouting: boolean };
    assert.equal(seen.url, '/hello?q=1');
    assert.equal(seen.method, 'GET');
    assert.equal(seen.headers['x-custom'], 'v');
    assert.equal(seen.headers.authorization, undefined, 'the API key is not passed on to the instance');
    assert.equal(seen.headers.host, `127.0.0.1:${proxy.port}`);
    assert.equal(seen.sawRouting, false);
    assert.deepEqual(resolver.routes.at(-1), { nodeId: 'web', aliasName: undefined, folderId: 'f1', authorization: 'Bearer k1' });
  });

  it('routes by alias', async () => {
    const res = await request(proxy.port, { path: '/hello', headers: { 'x-node-alias': 'site' }, agent });
    assert.equal(res.status, 200);
  });

  it('relays a POST body both ways with status and content type', async () => {
    const res = await request(proxy.port, {
      method: 'POST',
      path: '/echo',
      headers: { ...node, 'content-type': 'text/x-berth' },
      body: 'hello, instance',
      agent,
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers['content-type'], 'text/x-berth');
    assert.equal(res.body.toString(), 'hello, instance');
  });

  it('passes statuses, reasons and headers through unchanged', async () => {
    for (const code of [204, 302, 404, 418, 500, 503]) {
      const res = await request(proxy.port, { path: `/status/${code}`, headers: node, agent });
      assert.equal(res.status, code);
      assert.equal(res.statusMessage, 'Custom Reason');
      assert.equal(res.headers['x-custom'], 'kept');
      // Who answered, as Berth says it: the instance's own headers of these names are dropped.
      assert.equal(res.headers['x-berth-node-id'], 'web');
      assert.match(String(res.headers['x-berth-instance-id']), /^[ab]$/);
    }
  });

  it('streams a 5 MB upload without content-length and a 5 MB download', async () => {
    const total = 5 * 1024 * 1024;
    const hash = createHash('sha256');
    for await (const chunk of generate(total)) hash.update(chunk);
    const up = await request(proxy.port, {
      method: 'POST',
      path: '/digest',
      headers: { ...node, 'transfer-encoding': 'chunked' },
      body: generate(total),
      agent,
    });
    assert.equal(up.status, 200);
    assert.deepEqual(JSON.parse(up.body.toString()).bytes, total);
    assert.equal(JSON.parse(up.body.toString()).sha256, hash.digest('hex'));

    const down = await request(proxy.port, { path: `/bytes/${total}`, headers: node, agent });
    assert.equal(down.status, 200);
    assert.equal(down.body.length, total);
    assert.equal(down.headers['transfer-encoding'], 'chunked');
  });

  it('passes response trailers through', async () => {
    const res = await request(proxy.port, { path: '/trailers', headers: node, agent });
    assert.equal(res.body.toString(), 'body');
    assert.equal(res.trailers['x-checksum'], 'abc123');
    assert.equal(res.trailers['x-berth-instance-id'], undefined, 'an instance cannot name itself in trailers either');
    assert.match(String(res.headers['x-berth-instance-id']), /^[ab]$/);
  });

  it('spreads calls over both instances', async () => {
    const before = { a: a.seen.length, b: b.seen.length };
    await Promise.all(Array.from({ length: 40 }, () => request(proxy.port, { path: '/hello', headers: node, agent })));
    assert.ok(a.seen.length - before.a > 5, `a served ${a.seen.length - before.a}`);
    assert.ok(b.seen.length - before.b > 5, `b served ${b.seen.length - before.b}`);
  });

  it('answers 404 JSON for an unknown node', async () => {
    const res = await request(proxy.port, { path: '/hello', headers: { 'x-node-id': 'nope' }, agent });
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body.toString()), { code: 5, message: 'node nope not found', details: [] });
    assert.equal(res.headers['x-berth-instance-id'], undefined);
    assert.equal(res.headers['x-berth-node-id'], undefined, 'no node was resolved');
  });

  it('answers 400 without a routing header', async () => {
    const res = await request(proxy.port, { path: '/hello', agent });
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body.toString()).code, 3);
  });

  it('answers 503 when the node has no healthy instance', async () => {
    const res = await request(proxy.port, { path: '/hello', headers: { 'x-node-id': 'empty' }, agent });
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.body.toString()), { code: 14, message: 'node empty has no healthy instance', details: [] });
    assert.equal(res.headers['x-berth-node-id'], 'empty', "Berth's own answer names the node it resolved");
    assert.equal(res.headers['x-berth-instance-id'], undefined, '...and no instance, since none answered');
  });

  it('reports each call to the metrics hook', async () => {
    const n = proxy.events.length;
    await request(proxy.port, { path: '/status/418', headers: node, agent });
    await new Promise((r) => setImmediate(r));
    const event = proxy.events.slice(n).find((e) => e.httpStatus === 418);
    assert.ok(event);
    assert.equal(event.nodeId, 'web');
    assert.equal(event.protocol, 'http1');
    assert.equal(event.attempts, 1);
    assert.ok(event.instanceId === 'a' || event.instanceId === 'b');
  });
});
