/**
 * The browser rules over real HTTP, HTTP/2 and gRPC on a real Berth (no
 * browser: `test/e2e/browser-attacks.test.ts` drives Chromium): bodies only
 * as JSON (415 otherwise), no CORS grant unless `--cors-origin` names the
 * origin, and on a loopback bind a `Host`/`:authority` naming loopback or an
 * `--allowed-host` name (403 otherwise) — and clients that send JSON as JSON
 * keep working.
 */

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { FolderServiceClient, type ListFoldersResponse } from '../../gen/berth/v1/folder_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { rest, restViolations } from '../helpers/rest';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** Whether the server said 100 Continue (only asked with `expect`). */
  continued: boolean;
}

/** One HTTP/1.1 request with exactly these headers (Host included), on a fresh connection. */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const withLength = body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers };
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: withLength, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // kept as text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, continued });
      });
    });
    req.on('error', reject);
    if (headers.expect !== undefined) {
      // Sends the body only if asked for it.
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.flushHeaders();
    } else {
      req.end(body);
    }
  });
}

function h2(port: number, headers: http2.OutgoingHttpHeaders): Promise<{ headers: http2.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request(headers);
    let head: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      session.close();
      const text = Buffer.concat(chunks).toString();
      resolve({ headers: head, body: text ? JSON.parse(text) : undefined });
    });
    stream.on('error', reject);
  });
}

function corsHeaders(headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((name) => name.startsWith('access-control-'));
}

async function folderNames(t: TestBerth): Promise<string[]> {
  const res = await rest(t.http, 'GET', '/v1/folders?page_size=1000');
  assert.equal(res.status, 200);
  return (res.body.folders as { name: string }[]).map((f) => f.name).sort();
}

function listFolders(port: number, authority?: string): Promise<ListFoldersResponse> {
  const client = new FolderServiceClient(`127.0.0.1:${port}`, credentials.createInsecure(), authority === undefined ? {} : { 'grpc.default_authority': authority });
  return new Promise<ListFoldersResponse>((resolve, reject) => {
    client.listFolders({ pageSize: 10, pageToken: '', filter: '', orderBy: '' } as never, new Metadata(), (err: ServiceError | null, res: ListFoldersResponse) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

const EVIL = 'http://evil.example';
const APP = 'http://app.example:3000';

describe('browser rules on a loopback Berth with no --cors-origin', () => {
  let t: TestBerth;
  let port: number;
  let nodeApi: number;
  before(async () => {
    t = (await startTestBerth('sqlite'))!;
    port = t.berth.httpPort;
    nodeApi = t.berth.nodeApiPort;
  });
  after(async () => {
    await t.close();
  });

  it('takes JSON bodies sent as JSON, as existing clients send them', async () => {
    const types = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"', 'application/merge-patch+json'];
    for (const [i, type] of types.entries()) {
      const res = await raw(port, 'POST', '/v1/folders', { 'content-type': type }, JSON.stringify({ name: `json-${i}` }));
      assert.equal(res.status, 200, `${type}: ${JSON.stringify(res.body)}`);
      const patched = await raw(port, 'PATCH', `/v1/folders/${res.body.id}`, { 'content-type': type }, JSON.stringify({ description: 'changed' }));
      assert.equal(patched.status, 200, `${type}: ${JSON.stringify(patched.body)}`);
      assert.equal(patched.body.description, 'changed');
    }
    assert.equal((await rest(t.http, 'POST', '/v1/folders', { name: 'via-the-helper' })).status, 200);
  });

  it('needs no content type without a body (GET, DELETE, a bodyless POST)', async () => {
    const created = await rest(t.http, 'POST', '/v1/folders', { name: 'to-delete' });
    assert.equal((await raw(port, 'GET', `/v1/folders/${created.body.id}`)).status, 200);
    assert.equal((await raw(port, 'DELETE', `/v1/folders/${created.body.id}`)).status, 200);
    // Read as an empty request: refused for what it lacks, not for its type.
    const empty = await raw(port, 'POST', '/v1/folders', {}, '');
    assert.equal(empty.status, 400, JSON.stringify(empty.body));
    assert.ok(!restViolations(empty.body).includes('content-type'));
  });

  it('refuses any other body with 415 naming content-type, before reading it, and creates nothing', async () => {
    const before = await folderNames(t);
    const body = JSON.stringify({ name: 'smuggled' });
    const cases: [string, Record<string, string>][] = [
      ['text/plain (a no-cors fetch)', { 'content-type': 'text/plain;charset=UTF-8' }],
      ['a urlencoded form', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['a multipart form', { 'content-type': 'multipart/form-data; boundary=x' }],
      ['a text/plain form hiding a JSON type in a parameter', { 'content-type': 'text/plain; x=application/json' }],
      ['a list of types', { 'content-type': 'application/json, text/plain' }],
      ['JSON in another charset', { 'content-type': 'application/json; charset=latin1' }],
      ['a body with no content type', {}],
    ];
    for (const [label, headers] of cases) {
      const res = await raw(port, 'POST', '/v1/folders', headers, body);
      assert.equal(res.status, 415, `${label}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, Code.INVALID_ARGUMENT, label);
      assert.deepEqual(restViolations(res.body), ['content-type'], label);
      assert.equal(res.headers.connection, 'close', `${label}: the unread body is not read to keep the connection`);
    }
    // The typed route of a checkpoint node too (refused before the node is looked up).
    const typed = await raw(port, 'POST', '/v1/nodes/nd0000000000000000000/api:execute', { 'content-type': 'text/plain' }, '{"x": 1}');
    assert.equal(typed.status, 415, JSON.stringify(typed.body));
    assert.deepEqual(restViolations(typed.body), ['content-type']);
    const typedJson = await raw(port, 'POST', '/v1/nodes/nd0000000000000000000/api:execute', { 'content-type': 'application/json' }, '{"x": 1}');
    assert.equal(typedJson.status, 404, 'sent as JSON, it gets as far as the node lookup');
    // A client that asks before sending is refused before it sends.
    const asked = await raw(port, 'POST', '/v1/folders', { 'content-type': 'text/plain', expect: '100-continue' }, body);
    assert.equal(asked.status, 415);
    assert.equal(asked.continued, false);
    assert.deepEqual(await folderNames(t), before);
  });

  it('grants no CORS: preflights and requests from any origin are refused with no Access-Control-Allow-*', async () => {
    const before = await folderNames(t);
    for (const origin of [EVIL, APP, 'null', `http://127.0.0.1:${port}`]) {
      const preflight = await raw(port, 'OPTIONS', '/v1/folders', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
      assert.equal(preflight.status, 403, origin);
      assert.deepEqual(corsHeaders(preflight.headers), [], origin);
      assert.equal(preflight.body.code, Code.PERMISSION_DENIED);
      assert.match(preflight.body.message, /cross-origin request .* refused.*--cors-origin/);
      const post = await raw(port, 'POST', '/v1/folders', { origin, 'content-type': 'application/json' }, JSON.stringify({ name: 'cross-origin' }));
      assert.equal(post.status, 403, origin);
      assert.deepEqual(corsHeaders(post.headers), [], origin);
      const get = await raw(port, 'GET', '/v1/folders', { origin });
      assert.equal(get.status, 403, origin);
      assert.deepEqual(corsHeaders(get.headers), []);
    }
    // Without an Origin (curl, SDKs) nothing changes, and no grant is given either.
    const plain = await raw(port, 'GET', '/v1/folders');
    assert.equal(plain.status, 200);
    assert.deepEqual(corsHeaders(plain.headers), []);
    assert.deepEqual(await folderNames(t), before);
  });

  it('refuses a Host that names no loopback address (DNS rebinding), and takes loopback ones', async () => {
    const before = await folderNames(t);
    for (const host of [`rebind.test:${port}`, 'rebind.test', `127.0.0.1.nip.io:${port}`, `10.0.0.1:${port}`]) {
      const get = await raw(port, 'GET', '/v1/folders', { host });
      assert.equal(get.status, 403, host);
      assert.equal(get.body.code, Code.PERMISSION_DENIED);
      assert.match(get.body.message, /is not served here.*--allowed-host/);
      const post = await raw(port, 'POST', '/v1/folders', { host, 'content-type': 'application/json' }, JSON.stringify({ name: 'rebound' }));
      assert.equal(post.status, 403, host);
      assert.equal((await raw(port, 'GET', '/healthz', { host })).status, 403, `${host}: every path`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) assert.equal((await raw(port, 'GET', '/v1/folders', { host })).status, 200, host);
    assert.deepEqual(await folderNames(t), before);
  });

  it('applies the origin and host rules on the node API too, over HTTP/1.1 and h2c, before routing', async () => {
    const route = { 'x-node-id': 'nd0000000000000000000' };
    assert.equal((await raw(nodeApi, 'GET', '/', route)).status, 404, 'a call that passes the rules gets as far as routing');
    const preflight = await raw(nodeApi, 'OPTIONS', '/', { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-node-id' });
    assert.equal(preflight.status, 403);
    assert.deepEqual(corsHeaders(preflight.headers), []);
    assert.equal(preflight.body.code, Code.PERMISSION_DENIED);
    const fromPage = await raw(nodeApi, 'POST', '/', { ...route, origin: EVIL, 'content-type': 'text/plain' }, 'x');
    assert.equal(fromPage.status, 403);
    const rebound = await raw(nodeApi, 'GET', '/', { ...route, host: `rebind.test:${nodeApi}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body.message, /is not served here/);
    assert.equal((await raw(nodeApi, 'GET', '/', { ...route, host: `localhost:${nodeApi}` })).status, 404);

    const h2Rebound = await h2(nodeApi, { ':method': 'GET', ':path': '/', ':authority': `rebind.test:${nodeApi}`, ...route });
    assert.equal(h2Rebound.headers[':status'], 403);
    assert.equal(h2Rebound.body.code, Code.PERMISSION_DENIED);
    const h2Origin = await h2(nodeApi, { ':method': 'GET', ':path': '/', origin: EVIL, ...route });
    assert.equal(h2Origin.headers[':status'], 403);
    assert.equal((await h2(nodeApi, { ':method': 'GET', ':path': '/', ...route })).headers[':status'], 404);
  });

  it('refuses a gRPC call whose :authority names no loopback address', async () => {
    const grpcPort = t.berth.grpcPort;
    assert.ok((await listFolders(grpcPort)).folders.length > 0);
    assert.ok((await listFolders(grpcPort, `localhost:${grpcPort}`)).folders.length > 0);
    const err = (await listFolders(grpcPort, `rebind.test:${grpcPort}`).catch((e: ServiceError) => e)) as ServiceError;
    assert.equal(err.code, Code.PERMISSION_DENIED, String(err));
    assert.match(err.details, /is not served here/);
  });
});

describe('browser rules with --cors-origin and --allowed-host', () => {
  let t: TestBerth;
  let port: number;
  before(async () => {
    t = (await startTestBerth('sqlite', { corsOrigins: [APP], allowedHosts: ['berth.internal'] }))!;
    port = t.berth.httpPort;
  });
  after(async () => {
    await t.close();
  });

  it('answers a preflight from the listed origin with that origin, its methods and headers, and no credentials', async () => {
    const res = await raw(port, 'OPTIONS', '/v1/folders', {
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-request-id',
      'access-control-request-private-network': 'true',
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], APP);
    assert.equal(res.headers.vary, 'Origin');
    assert.match(String(res.headers['access-control-allow-methods']), /\bPOST\b.*\bPATCH\b.*\bDELETE\b/);
    const allowed = String(res.headers['access-control-allow-headers']).split(', ');
    for (const header of ['authorization', 'content-type', 'x-request-id', 'x-folder-id', 'x-node-id']) assert.ok(allowed.includes(header), header);
    assert.ok(Number(res.headers['access-control-max-age']) > 0);
    assert.equal(res.headers['access-control-allow-private-network'], 'true');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  it('serves the listed origin with its grant, and still refuses every other origin', async () => {
    const ok = await raw(port, 'POST', '/v1/folders', { origin: APP, 'content-type': 'application/json' }, JSON.stringify({ name: 'from-the-app' }));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers.vary, 'Origin');
    assert.equal(ok.headers['access-control-allow-credentials'], undefined);
    // The grant does not lift the type rule.
    assert.equal((await raw(port, 'POST', '/v1/folders', { origin: APP, 'content-type': 'text/plain' }, JSON.stringify({ name: 'typed-wrong' }))).status, 415);
    for (const origin of [EVIL, 'http://app.example:3001', 'https://app.example:3000', 'null']) {
      const res = await raw(port, 'OPTIONS', '/v1/folders', { origin, 'access-control-request-method': 'POST' });
      assert.equal(res.status, 403, origin);
      assert.deepEqual(corsHeaders(res.headers), [], origin);
    }
    const names = (await rest(t.http, 'GET', '/v1/folders?page_size=1000')).body.folders.map((f: { name: string }) => f.name);
    assert.ok(names.includes('from-the-app'));
    assert.ok(!names.includes('typed-wrong'));
  });

  it('takes the --allowed-host name on every listener, and still refuses other names', async () => {
    assert.equal((await raw(port, 'GET', '/v1/folders', { host: `berth.internal:${port}` })).status, 200);
    assert.equal((await raw(port, 'GET', '/v1/folders', { host: `rebind.test:${port}` })).status, 403);
    const nodeApi = t.berth.nodeApiPort;
    assert.equal((await raw(nodeApi, 'GET', '/', { host: `berth.internal:${nodeApi}`, 'x-node-id': 'nd0000000000000000000' })).status, 404);
    assert.equal((await raw(nodeApi, 'GET', '/', { host: `rebind.test:${nodeApi}`, 'x-node-id': 'nd0000000000000000000' })).status, 403);
    const grpcPort = t.berth.grpcPort;
    assert.ok((await listFolders(grpcPort, `berth.internal:${grpcPort}`)).folders.length > 0);
    assert.equal(((await listFolders(grpcPort, `rebind.test:${grpcPort}`).catch((e: ServiceError) => e)) as ServiceError).code, Code.PERMISSION_DENIED);
  });

  it('answers a node-API preflight from the listed origin itself (a preflight names no node)', async () => {
    const nodeApi = t.berth.nodeApiPort;
    const res = await raw(nodeApi, 'OPTIONS', '/any/path', { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-node-id, content-type' });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], APP);
    assert.match(String(res.headers['access-control-allow-headers']), /x-node-id/);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });
});
