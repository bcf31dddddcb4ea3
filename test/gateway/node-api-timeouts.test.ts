/**
 * The node API's head-read and idle limits (here 1 s and 2 s) do not cut
 * what is not slow or idle: a call whose instance answers after longer than
 * the idle limit, over HTTP/1.1 and h2c; a response body that pauses longer
 * than it; keep-alive reuse within it. And they do cut what is: a silent
 * connection, a second request head trickled on a kept-alive connection, an
 * h2c session after its last stream.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { backend, h2request, MapResolver, request, startProxy, type TestProxy } from './support/proxy';
import { startHttpUpstream, type Upstream } from './support/upstreams';

const HEADER_TIMEOUT_MS = 1000;
const IDLE_TIMEOUT_MS = 2000;
/** Node's head check runs every quarter of the limit; room for a loaded machine on top. */
const SLACK_MS = 1500;
const node = { 'x-node-id': 'web', 'x-folder-id': 'f' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function closed(socket: net.Socket | http2.ClientHttp2Session): Promise<number> {
  const since = Date.now();
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now() - since)));
}

describe('node API connection timeouts', () => {
  const resolver = new MapResolver();
  let upstream: Upstream;
  let proxy: TestProxy;

  before(async () => {
    upstream = await startHttpUpstream('h1');
    resolver.node('web', 'http', [backend('h1', upstream.port)]);
    proxy = await startProxy(resolver, { timeouts: { headerTimeoutMs: HEADER_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS } });
  });

  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('keeps an HTTP/1.1 call longer than the idle limit, then reuses and finally closes the idle connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const slow = await request(proxy.port, { path: `/slow/${IDLE_TIMEOUT_MS + 700}`, headers: node, agent });
      assert.equal(slow.status, 200);
      assert.equal(slow.body.toString(), 'late');
      const drip = await request(proxy.port, { path: `/drip/${IDLE_TIMEOUT_MS + 700}`, headers: node, agent });
      assert.equal(drip.body.toString(), 'start;end');
      // Node's agent keeps a socket a second less than the server's keep-alive hint (here 2 s).
      await sleep(300);
      const reused = await new Promise<{ reused: boolean; socket: net.Socket }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: proxy.port, path: '/hello', headers: node, agent }, (res) => {
          res.resume();
          res.once('end', () => resolve({ reused: req.reusedSocket, socket: req.socket! }));
        });
        req.once('error', reject);
      });
      assert.ok(reused.reused, 'the keep-alive connection was not reused within the idle limit');
      const ms = await closed(reused.socket);
      // Node closes a keep-alive connection one second after its keepAliveTimeout.
      assert.ok(ms >= IDLE_TIMEOUT_MS - 100 && ms <= IDLE_TIMEOUT_MS + 1000 + SLACK_MS, `idle connection closed after ${ms} ms`);
    } finally {
      agent.destroy();
    }
  });

  it('keeps an h2c stream longer than the idle limit, then sends GOAWAY after the last stream', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    let goaway = false;
    session.on('goaway', () => (goaway = true));
    try {
      const res = await h2request(session, { ':path': `/slow/${IDLE_TIMEOUT_MS + 700}`, ...node });
      assert.equal(res.headers[':status'], 200);
      assert.equal(res.body.toString(), 'late');
      const ms = await closed(session);
      assert.ok(goaway, 'closed without a GOAWAY');
      assert.ok(ms >= IDLE_TIMEOUT_MS - 100 && ms <= IDLE_TIMEOUT_MS + SLACK_MS, `idle session closed after ${ms} ms`);
    } finally {
      session.destroy();
    }
  });

  it('closes a connection that sends nothing within the head limit', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    const ms = await closed(socket);
    assert.ok(ms >= HEADER_TIMEOUT_MS - 100 && ms <= HEADER_TIMEOUT_MS + SLACK_MS, `silent connection closed after ${ms} ms`);
  });

  it('answers 408 to a second request head trickled on a kept-alive connection', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /hello HTTP/1.1\r\nhost: localhost\r\nx-node-id: web\r\nx-folder-id: f\r\n\r\n');
    for (let i = 0; i < 50 && !answer.includes('"instance":"h1"'); i++) await sleep(20);
    assert.match(answer, /^HTTP\/1\.1 200/);
    answer = '';
    const head = 'GET /hello HTTP/1.1\r\nhost: localhost\r\n';
    const since = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= head.length) return clearInterval(timer);
      socket.write(head[i++]!);
    }, 200);
    await closed(socket);
    clearInterval(timer);
    const ms = Date.now() - since;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(ms <= HEADER_TIMEOUT_MS + SLACK_MS, `the trickled head was cut after ${ms} ms`);
  });
});
