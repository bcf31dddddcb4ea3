/**
 * The node-API proxy under test, a resolver backed by a Map, and small
 * HTTP/1.1 and h2c clients that collect whole responses.
 */

import http from 'node:http';
import http2 from 'node:http2';
import pino from 'pino';
import type { InFlightBalancer } from '../../../src/gateway/balancer';
import type { BrowserPolicyOptions } from '../../../src/gateway/browser-policy';
import type { ConnectionTimeouts } from '../../../src/gateway/connection-timeouts';
import {
  createNodeApiServer,
  GrpcCode,
  NodeApiError,
  type Backend,
  type NodeApiCallEvent,
  type NodeApiLogger,
  type NodeApiResolver,
  type NodeApiRoute,
  type NodeApiServer,
  type ResolvedTarget,
} from '../../../src/gateway/node-api';

export interface ReportedFailure {
  nodeId: string;
  instanceId: string;
  error: Error;
}

/** Nodes by id (and aliases by name), as a test sets them up. */
export class MapResolver implements NodeApiResolver {
  readonly nodes = new Map<string, ResolvedTarget>();
  readonly aliases = new Map<string, string>();
  readonly failures: ReportedFailure[] = [];
  readonly routes: NodeApiRoute[] = [];

  resolve(route: NodeApiRoute): ResolvedTarget {
    this.routes.push(route);
    const nodeId = route.nodeId ?? (route.aliasName === undefined ? undefined : this.aliases.get(route.aliasName));
    const target = nodeId === undefined ? undefined : this.nodes.get(nodeId);
    if (target === undefined) {
      throw new NodeApiError(GrpcCode.NOT_FOUND, `node ${route.nodeId ?? route.aliasName ?? ''} not found`);
    }
    return target;
  }

  reportFailure(nodeId: string, instanceId: string, error: Error): void {
    this.failures.push({ nodeId, instanceId, error });
  }

  /** Adds (or replaces) a node. */
  node(
    nodeId: string,
    endpointType: 'http' | 'grpc',
    backends: Backend[],
    limits: { timeoutMs?: number; idleTimeoutMs?: number } = {},
  ): void {
    this.nodes.set(nodeId, {
      nodeId,
      endpointType,
      backends,
      timeoutMs: limits.timeoutMs ?? 0,
      idleTimeoutMs: limits.idleTimeoutMs ?? 0,
    });
  }
}

export function backend(instanceId: string, port: number): Backend {
  return { instanceId, host: '127.0.0.1', port };
}

export interface TestProxy {
  readonly server: NodeApiServer;
  readonly port: number;
  readonly events: NodeApiCallEvent[];
  close(): Promise<void>;
}

export async function startProxy(
  resolver: NodeApiResolver,
  options: { maxBodyBytes?: number; balancer?: InFlightBalancer; timeouts?: ConnectionTimeouts; browser?: BrowserPolicyOptions } = {},
): Promise<TestProxy> {
  const logger: NodeApiLogger = pino({ level: process.env.BERTH_TEST_LOG ?? 'silent' });
  const events: NodeApiCallEvent[] = [];
  const server = createNodeApiServer({
    resolver,
    logger,
    maxBodyBytes: options.maxBodyBytes,
    balancer: options.balancer,
    timeouts: options.timeouts,
    browser: options.browser,
    metrics: { onCallEnd: (e) => events.push(e) },
    drainTimeoutMs: 2_000,
  });
  const address = await server.listen(0, '127.0.0.1');
  const close = async (): Promise<void> => {
    // Every test must leave nothing in flight: a call that never ends is a leak.
    for (let i = 0; i < 100 && server.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const left = server.inFlight();
    await server.close();
    if (left > 0) throw new Error(`${left} node-API call(s) never ended`);
  };
  return { server, port: address.port, events, close };
}

export interface HttpResult {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: Buffer;
}

/** One HTTP/1.1 request through `agent`, the whole response collected. */
export function request(
  port: number,
  options: {
    method?: string;
    path: string;
    headers?: http.OutgoingHttpHeaders;
    body?: Buffer | string | AsyncIterable<Buffer>;
    agent?: http.Agent;
  },
): Promise<HttpResult> {
  return new Promise<HttpResult>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusMessage: res.statusMessage ?? '',
            headers: res.headers,
            trailers: res.trailers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(reject);
    }
  });
}

export interface H2Result {
  headers: http2.IncomingHttpHeaders;
  /** Whether the response head carried END_STREAM (a trailers-only response). */
  headersEndedStream: boolean;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: Buffer;
}

/** One prior-knowledge h2c request on `session`, the whole response collected. */
export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<H2Result> {
  return new Promise<H2Result>((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let head: http2.IncomingHttpHeaders = {};
    let headersEndedStream = false;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h, flags) => {
      head = h;
      headersEndedStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    stream.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers: head, headersEndedStream, trailers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** Yields `total` bytes in chunks of `chunk` bytes, with a deterministic pattern. */
export async function* generate(total: number, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  let sent = 0;
  let i = 0;
  while (sent < total) {
    const n = Math.min(chunk, total - sent);
    const buf = Buffer.alloc(n, i++ % 251);
    sent += n;
    yield buf;
  }
}
