/**
 * Real instances for the node-API tests, all on 127.0.0.1 with a free port:
 * a plain HTTP/1.1 server, an h2c server and a grpc-js server. Each records
 * what it received so tests can tell which instance served a call, and that
 * a refused call never reached any.
 */

import { createHash } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface Upstream {
  readonly id: string;
  readonly port: number;
  /** Requests received, by path (HTTP) or method (gRPC). */
  readonly seen: string[];
  close(): Promise<void>;
}

const ROUTING = ['x-node-id', 'x-node-alias', 'x-folder-id'];

function sawRouting(headers: Record<string, unknown>): boolean {
  return ROUTING.some((name) => headers[name] !== undefined);
}

/**
 * An HTTP/1.1 instance.
 * - `GET /hello`: JSON describing the request and the instance;
 * - `POST /echo`: streams the body back, status 201, `x-upstream` header;
 * - `POST /digest`: answers the byte count and sha256 of the body;
 * - `GET /status/<code>`: that status with a custom header;
 * - `GET /bytes/<n>`: n bytes, chunked (no content-length);
 * - `GET /slow/<ms>`: answers after ms milliseconds;
 * - `GET /drip/<ms>`: sends the head at once, the body after ms;
 * - `GET /trailers`: a chunked body followed by trailers;
 * - `GET /sized/<n>`: n bytes with a content-length.
 */
export async function startHttpUpstream(id: string): Promise<Upstream> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push(url);
    const [, first, arg] = (url.split('?')[0] ?? '').split('/');
    switch (first) {
      case 'hello': {
        const body = JSON.stringify({
          instance: id,
          method: req.method,
          url,
          headers: req.headers,
          sawRouting: sawRouting(req.headers),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': id, 'set-cookie': ['a=1', 'b=2'] });
        res.end(body);
        return;
      }
      case 'echo':
        res.writeHead(201, {
          'content-type': req.headers['content-type'] ?? 'application/octet-stream',
          'x-upstream': id,
        });
        req.pipe(res);
        return;
      case 'digest': {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
        });
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ instance: id, bytes, sha256: hash.digest('hex') }));
        });
        return;
      }
      case 'status': {
        const code = Number(arg);
        // Names only Berth may send: an instance cannot pass itself off as another.
        res.writeHead(code, 'Custom Reason', { 'x-custom': 'kept', 'x-berth-instance-id': 'forged', 'x-berth-node-id': 'forged' });
        res.end(code === 204 || code === 304 ? undefined : `status ${code}`);
        return;
      }
      case 'bytes': {
        const total = Number(arg);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let sent = 0;
        const pump = (): void => {
          while (sent < total) {
            const n = Math.min(chunk.length, total - sent);
            sent += n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      case 'sized': {
        const n = Number(arg);
        res.writeHead(200, { 'content-length': String(n) });
        res.end(Buffer.alloc(n, 0x62));
        return;
      }
      case 'slow':
        setTimeout(() => {
          res.writeHead(200);
          res.end('late');
        }, Number(arg)).unref();
        return;
      case 'drip':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('start;');
        setTimeout(() => res.end('end'), Number(arg)).unref();
        return;
      case 'trailers':
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum, x-berth-instance-id' });
        res.write('body');
        res.addTrailers({ 'x-checksum': 'abc123', 'x-berth-instance-id': 'forged' });
        res.end();
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * An h2c instance: answers every stream with its path, the instance id in a
 * header, the request body echoed, and a `x-trailer` trailer.
 */
export async function startH2cUpstream(id: string): Promise<Upstream> {
  const seen: string[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const p = String(headers[':path']);
    seen.push(p);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond(
        { ':status': 200, 'content-type': 'text/plain', 'x-upstream': id, 'x-saw-routing': String(sawRouting(headers)), 'x-berth-instance-id': 'forged' },
        { waitForTrailers: true },
      );
      stream.once('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'done', 'x-berth-instance-id': 'forged' }));
      stream.end(`${p} ${Buffer.concat(chunks).toString()}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    id,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const PROTO_PATH = path.join(__dirname, '..', 'fixtures', 'echo.proto');

export interface EchoRequest {
  message?: string;
  count?: number;
  status?: number;
  delayMs?: number;
}

export interface EchoReply {
  message: string;
  instance: string;
  index: number;
  sawRoutingHeaders: boolean;
  authorization: string;
}

interface EchoPackage {
  berth: { test: { v1: { Echo: grpc.ServiceClientConstructor } } };
}

/** The Echo service definition, loaded from the .proto at run time. */
export function loadEcho(): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, defaults: true });
  return (grpc.loadPackageDefinition(definition) as unknown as EchoPackage).berth.test.v1.Echo;
}

function metaString(metadata: grpc.Metadata, key: string): string {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : '';
}

/**
 * A grpc-js instance of Echo. Unary echoes the request's `x-echo` metadata
 * back as initial metadata and ends with a custom `x-trailer` trailer, also
 * on failures.
 */
export async function startGrpcUpstream(id: string): Promise<Upstream> {
  const seen: string[] = [];
  const Echo = loadEcho();
  const server = new grpc.Server();
  const reply = (call: { metadata: grpc.Metadata }, message: string, index = 0): EchoReply => ({
    message,
    instance: id,
    index,
    sawRoutingHeaders: ROUTING.some((k) => call.metadata.get(k).length > 0),
    authorization: metaString(call.metadata, 'authorization'),
  });
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      seen.push('Unary');
      const echo = metaString(call.metadata, 'x-echo');
      if (echo !== '') {
        const head = new grpc.Metadata();
        head.set('x-echo', echo);
        head.set('x-berth-instance-id', 'forged');
        head.set('x-berth-node-id', 'forged');
        call.sendMetadata(head);
      }
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', `from-${id}`);
      trailer.set('x-berth-instance-id', 'forged');
      const finish = (): void => {
        const status = call.request.status ?? 0;
        if (status !== 0) {
          callback({ code: status, details: `requested status ${status}`, metadata: trailer });
          return;
        }
        callback(null, reply(call, call.request.message ?? ''), trailer);
      };
      const delay = call.request.delayMs ?? 0;
      if (delay > 0) setTimeout(finish, delay).unref();
      else finish();
    },
    ServerStream(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      seen.push('ServerStream');
      const count = call.request.count ?? 0;
      for (let i = 0; i < count; i++) call.write(reply(call, `${call.request.message ?? ''}#${i}`, i));
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'stream-done');
      call.end(trailer);
    },
    ClientStream(call: grpc.ServerReadableStream<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      seen.push('ClientStream');
      const parts: string[] = [];
      call.on('data', (req: EchoRequest) => parts.push(req.message ?? ''));
      call.on('end', () => callback(null, reply(call, parts.join(','), parts.length)));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    id,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
