/**
 * TLS on all three listeners, as a user turns it on: `berth serve --tls-cert
 * --tls-key` with a certificate for 127.0.0.1 signed by a CA this test makes
 * with `openssl`. Clients that trust that CA are answered (the generated
 * gRPC client, HTTPS REST, and the node API over HTTP/1.1 and h2 chosen by
 * ALPN, gRPC included, in front of Docker nodes on the real engine); a
 * client trusting another CA fails the handshake, and a cleartext client
 * gets no answer. A connection that never finishes its handshake, or
 * finishes it and sends nothing, is closed by the head-read limit.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { FolderServiceClient, ListFoldersRequest } from '../../gen/berth/v1/folder_service';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { makeTestPki, type TestPki } from '../helpers/tls';
import { buildTestImages, type TestImages } from '../images/test-images';

const BIN = path.join(__dirname, '..', '..', 'bin', 'berth.js');
const echoProto = loadSync(path.join(__dirname, '..', 'images', 'grpc-server', 'echo.proto'), { keepCase: true });
const EchoClient = grpc.makeClientConstructor(echoProto['berth.test.Echo'] as grpc.ServiceDefinition, 'Echo');

/** How a client that trusts another CA fails: the server's certificate does not chain to it. */
const UNTRUSTED = /unable to verify the first certificate|self-signed certificate in certificate chain/;

/** The head-read and idle limits of this test's Berth: short, so that silent connections are seen closed soon. */
const HEADER_TIMEOUT_MS = 1500;
const IDLE_TIMEOUT_MS = 2000;

interface Answer {
  status: number;
  body: string;
  alpn: string | false | null;
}

/** One HTTPS request with `ca` as the only trusted authority (and ALPN offers, when given). */
function httpsRequest(port: number, requestPath: string, ca: Buffer, options: { method?: string; body?: string; headers?: Record<string, string>; alpn?: string[] } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: requestPath,
        method: options.method ?? 'GET',
        ca,
        agent: false,
        headers: { 'content-type': 'application/json', ...options.headers },
        ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One HTTP/2 request over TLS (ALPN h2) with `ca` as the only trusted authority. */
function h2Request(port: number, headers: http2.OutgoingHttpHeaders, ca: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
    session.on('error', reject);
    const req = session.request(headers);
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const alpn = session.alpnProtocol ?? null;
      session.close();
      resolve({ status, body, alpn });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A cleartext HTTP/1.1 request: resolves the status if anything answers, or the error that ended it. */
function cleartextRequest(port: number, requestPath: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: requestPath, agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/** The TLS handshake alone, trusting `ca`: resolves the ALPN protocol agreed, or rejects with the handshake's error. */
function handshake(port: number, ca: Buffer, alpn: string[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: alpn }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves once the server has closed `socket` (whatever it sent before: a 408, a GOAWAY). */
function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.on('error', () => undefined);
    socket.once('close', () => resolve());
    // Read what comes, or the end of the stream is never seen.
    socket.resume();
  });
}

function unaryCall<Res>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, metadata, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

describe('TLS on all three listeners', () => {
  let pki: TestPki;
  let serve: ServeProcess | undefined;
  let images: TestImages;
  let skipDocker = false;
  const clusterId = `tls${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-tls-'));
  const nodes: Record<string, string> = {};
  const rest = async (method: string, requestPath: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const answer = await httpsRequest(serve!.httpPort, requestPath, pki.ca, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: answer.status, body: answer.body ? JSON.parse(answer.body) : undefined };
  };

  async function createNode(body: unknown): Promise<string> {
    const created = await rest('POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest('POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.status, 200, JSON.stringify(op.body));
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    return op.body.resourceId as string;
  }

  before(async () => {
    pki = await makeTestPki();
    skipDocker = !(await dockerAvailable());
    if (!skipDocker) images = await buildTestImages();
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--cluster-id', clusterId, '--runtime', skipDocker ? 'process' : 'docker',
      '--pull-images', 'false', '--startup-timeout-ms', '30000', '--resync-ms', '1000',
      '--header-timeout-ms', String(HEADER_TIMEOUT_MS), '--connection-idle-timeout-ms', String(IDLE_TIMEOUT_MS),
      '--tls-cert', pki.certFile, '--tls-key', pki.keyFile,
    ]);
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (serve) await serve.exited;
    if (!skipDocker) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('says in its log that every listener serves TLS', () => {
    const serving = serve!.logs.find((l) => l.msg === 'berth is serving');
    assert.deepEqual(serving.tls, { listeners: ['grpc', 'http', 'node-api'], cert: pki.certFile });
  });

  it('answers the generated gRPC client that trusts the CA, and only that one', async () => {
    const address = `localhost:${serve!.grpcPort}`;
    const trusted = new FolderServiceClient(address, grpc.credentials.createSsl(pki.ca));
    try {
      const list = await unaryCall<{ folders: Array<{ id: string }> }>(trusted, 'listFolders', ListFoldersRequest.fromPartial({ pageSize: 10 }));
      assert.ok(list.folders.some((f) => f.id === 'default'));
    } finally {
      trusted.close();
    }
    for (const creds of [grpc.credentials.createSsl(pki.otherCa), grpc.credentials.createInsecure()]) {
      const client = new FolderServiceClient(address, creds);
      try {
        await assert.rejects(unaryCall(client, 'listFolders', ListFoldersRequest.fromPartial({ pageSize: 10 })), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
      } finally {
        client.close();
      }
    }
  });

  it('answers REST over HTTPS to a client that trusts the CA; another CA fails the handshake; cleartext gets no answer', async () => {
    const ok = await httpsRequest(serve!.httpPort, '/v1/folders', pki.ca);
    assert.equal(ok.status, 200);
    assert.ok(JSON.parse(ok.body).folders.some((f: { id: string }) => f.id === 'default'));
    assert.equal((await httpsRequest(serve!.httpPort, '/readyz', pki.ca)).status, 200);
    await assert.rejects(httpsRequest(serve!.httpPort, '/v1/folders', pki.otherCa), UNTRUSTED);
    const plain = await cleartextRequest(serve!.httpPort, '/v1/folders');
    assert.equal(plain.status, undefined, 'a cleartext request is not answered');
  });

  it('offers ALPN h2 on the gRPC port and h2 or http/1.1 on the node API; handshakes with another CA fail everywhere', async () => {
    const grpcSocket = await handshake(serve!.grpcPort, pki.ca, ['h2']);
    assert.equal(grpcSocket.alpnProtocol, 'h2');
    grpcSocket.destroy();
    for (const alpn of ['h2', 'http/1.1']) {
      const socket = await handshake(serve!.nodeApiPort, pki.ca, [alpn]);
      assert.equal(socket.alpnProtocol, alpn);
      socket.destroy();
    }
    for (const port of [serve!.grpcPort, serve!.httpPort, serve!.nodeApiPort]) {
      await assert.rejects(handshake(port, pki.otherCa, ['h2', 'http/1.1']), UNTRUSTED);
    }
  });

  it('relays node-API calls over HTTPS: HTTP/1.1 (by ALPN or without it), h2 by ALPN, and gRPC', async (t) => {
    if (skipDocker) return t.skip('no Docker engine');
    nodes.web = await createNode({
      folderId: 'default',
      name: 'tls-web',
      spec: {
        docker: {
          image: images.http,
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s' },
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    nodes.echo = await createNode({
      folderId: 'default',
      name: 'tls-echo',
      spec: {
        docker: {
          image: images.grpc,
          endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '0.3s' },
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    const port = serve!.nodeApiPort;
    const headers = { 'x-node-id': nodes.web };

    const byAlpn = await httpsRequest(port, '/whoami', pki.ca, { headers, alpn: ['http/1.1'] });
    assert.equal(byAlpn.status, 200, byAlpn.body);
    assert.equal(byAlpn.alpn, 'http/1.1');
    assert.ok(JSON.parse(byAlpn.body).instance);

    const withoutAlpn = await httpsRequest(port, '/echo', pki.ca, { method: 'POST', body: 'over tls', headers });
    assert.equal(withoutAlpn.status, 200);
    assert.equal(withoutAlpn.alpn, false);
    assert.equal(withoutAlpn.body, 'over tls');

    const overH2 = await h2Request(port, { ':method': 'GET', ':path': '/whoami', 'x-node-id': nodes.web }, pki.ca);
    assert.equal(overH2.status, 200, overH2.body);
    assert.equal(overH2.alpn, 'h2');
    assert.ok(JSON.parse(overH2.body).instance);

    const echo = new EchoClient(`localhost:${port}`, grpc.credentials.createSsl(pki.ca));
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-node-id', nodes.echo);
      const reply = await unaryCall<{ message: string; instance: string }>(echo, 'Echo', { message: 'through tls' }, metadata);
      assert.equal(reply.message, 'through tls');
      assert.ok(reply.instance);
    } finally {
      echo.close();
    }

    await assert.rejects(h2Request(port, { ':path': '/whoami', 'x-node-id': nodes.web }, pki.otherCa), UNTRUSTED);
    const plain = await cleartextRequest(port, '/whoami');
    assert.equal(plain.status, undefined, 'a cleartext request is not answered');
    const untrustedEcho = new EchoClient(`localhost:${port}`, grpc.credentials.createSsl(pki.otherCa));
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-node-id', nodes.echo);
      await assert.rejects(unaryCall(untrustedEcho, 'Echo', { message: 'x' }, metadata), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
    } finally {
      untrustedEcho.close();
    }
  });

  it('closes connections that never finish the handshake, or finish it and send nothing, on every port', async () => {
    const ports = [serve!.grpcPort, serve!.httpPort, serve!.nodeApiPort];
    const silent = ports.map((port) => net.connect(port, '127.0.0.1'));
    const secured = await Promise.all(ports.map((port, i) => handshake(port, pki.ca, i === 1 ? ['http/1.1'] : ['h2'])));
    await Promise.all([...silent, ...secured].map(closed));
  });

  it('closes connections idle after a call (REST, node API) or before any (gRPC) once the idle limit passes', async () => {
    // REST: one request on a kept-alive HTTPS connection, then nothing.
    const agent = new https.Agent({ keepAlive: true, ca: pki.ca });
    const restSocket = await new Promise<net.Socket>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: serve!.httpPort, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(req.socket!));
      });
      req.on('error', reject);
    });
    // The node API: one h2 request, then an idle session.
    const nodeApi = http2.connect(`https://127.0.0.1:${serve!.nodeApiPort}`, { ca: pki.ca });
    nodeApi.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      const req = nodeApi.request({ ':path': '/' });
      req.on('error', () => undefined);
      req.resume();
      req.on('close', () => resolve());
      req.end();
    });
    // gRPC: a connection that sent its preface and SETTINGS in time, then no call.
    const grpcSession = http2.connect(`https://127.0.0.1:${serve!.grpcPort}`, { ca: pki.ca });
    grpcSession.on('error', () => undefined);
    await new Promise<void>((resolve) => grpcSession.once('remoteSettings', () => resolve()));
    await Promise.all([
      closed(restSocket),
      new Promise<void>((resolve) => nodeApi.once('close', () => resolve())),
      new Promise<void>((resolve) => grpcSession.once('close', () => resolve())),
    ]);
    agent.destroy();
  });
});

describe('TLS configuration at start', () => {
  it('refuses --tls-cert without --tls-key, naming both, before serving', async () => {
    const pki = await makeTestPki();
    try {
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
      const proc = spawn(process.execPath, [BIN, 'serve', '--tls-cert', pki.certFile, '--http-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let stdout = '';
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
      assert.equal(code, 2);
      assert.match(stderr, /^berth serve: --tls-cert needs --tls-key: give both/);
      assert.doesNotMatch(stdout, /berth is serving/);
    } finally {
      rmSync(pki.dir, { recursive: true, force: true });
    }
  });
});
