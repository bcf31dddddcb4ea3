/**
 * The node-API listener (default :8081): the data plane for Docker nodes.
 * Callers address a node with `x-node-id` or `x-node-alias` (plus
 * `x-folder-id` and `authorization`), over HTTP/1.1 or h2c on the same port,
 * (over TLS with ALPN `h2` or `http/1.1` when Berth has a certificate),
 * and the call is relayed to one healthy instance of that node unchanged:
 * method, path, headers, status, streamed bodies and trailers.
 *
 * Wiring only: connection sniffing is in `protocol-sniffer.ts`, the call
 * itself in `proxy-call.ts`, connections to instances in `upstream-pool.ts`.
 */

import http from 'node:http';
import http2, { type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { InFlightBalancer } from '../balancer';
import { BrowserPolicy, type BrowserPolicyOptions } from '../browser-policy';
import { DEFAULT_CONNECTION_TIMEOUTS, http1TimeoutOptions, trackHandedOverConnections, type ConnectionTimeouts } from '../connection-timeouts';
import { Http1Caller } from './http1-caller';
import { Http2Caller } from './http2-caller';
import type { NodeApiLogger } from './logger';
import type { NodeApiMetrics } from './node-api-metrics';
import type { Observability } from '../../observability/observability';
import { acceptSecureProtocol, sniffProtocol } from './protocol-sniffer';
import { ProxyCall, type ProxyContext } from './proxy-call';
import type { NodeApiResolver, NodeApiRoute } from './resolver';
import { enforceSessionTimeouts } from './session-timeouts';
import { HTTP2_SETTINGS, UpstreamPool } from './upstream-pool';

/** The node API's port unless configured otherwise. */
export const DEFAULT_NODE_API_PORT = 8081;
/** Requests and responses are at most 16 MiB unless configured otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** What the node API needs from the process that wires Berth. */
export interface NodeApiServerOptions {
  resolver: NodeApiResolver;
  logger: NodeApiLogger;
  /** Largest request body and largest response body (default 16 MiB). */
  maxBodyBytes?: number;
  metrics?: NodeApiMetrics;
  /**
   * The in-flight counters used for balancing. Pass the one the autoscaler
   * reads so that both see the same load; a private one is made otherwise.
   */
  balancer?: InFlightBalancer;
  /** How long `close()` waits for calls in flight before cutting them (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * Head-read and idle limits of callers' connections (default 10 s and
   * 65 s). On this port the head limit runs from the accept, across the
   * protocol sniffing, to the first request's headers (for h2c: the first
   * HEADERS frame); the idle limit applies to an HTTP/1.1 connection between
   * requests and to an h2c one without an open stream.
   */
  timeouts?: ConnectionTimeouts;
  /**
   * Origins granted CORS and host names accepted besides loopback ones (none
   * unless given); see `../browser-policy.ts`. Instances' own CORS headers
   * are never relayed.
   */
  browser?: BrowserPolicyOptions;
  /** Serve TLS with this certificate and key (cleartext HTTP/1.1 and h2c without). */
  tls?: SecureContext;
  /** The access log and traces of the calls. */
  observability?: Observability;
  /**
   * Told of each call let through to a node, with its head, its route and
   * the node: what HAProxy's fast path learns from (`../haproxy/grants.ts`).
   */
  onRouted?(headers: IncomingHttpHeaders, route: NodeApiRoute, nodeId: string): void;
  /**
   * The address callers reach when another proxy listens for this server
   * (`--data-plane haproxy`): the host rule follows it, not the loopback
   * address this server binds.
   */
  publicHost?: string;
}

/** A running (or ready to run) node-API listener. */
export interface NodeApiServer {
  /** Starts listening (default port 8081 on 127.0.0.1; pass `0.0.0.0` or `::` to serve other hosts). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Graceful stop: no new connections, GOAWAY to HTTP/2 callers and
   * `connection: close` to HTTP/1.1 ones, calls in flight finish (up to the
   * drain timeout, after which they are cut), then connections to instances
   * are closed.
   */
  close(): Promise<void>;
  address(): AddressInfo | null;
  /** Calls in flight right now. */
  inFlight(): number;
}

/** The status line for a request Node's parser refused or timed out. */
function clientErrorStatus(code: string | undefined): string {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  return '400 Bad Request';
}

function ignore(): void {
  // Stream errors surface as 'close' and are handled there.
}

/**
 * Builds the node-API server; nothing listens until `listen()`. Owned
 * resources (caller connections, pooled connections to instances) are all
 * released by `close()`.
 */
export function createNodeApiServer(options: NodeApiServerOptions): NodeApiServer {
  const logger = options.logger.child({ component: 'node-api' });
  const pool = new UpstreamPool(logger);
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const timeouts = options.timeouts ?? DEFAULT_CONNECTION_TIMEOUTS;
  const metrics = options.metrics;
  let inFlight = 0;
  let closing: Promise<void> | undefined;
  let onDrained: (() => void) | undefined;

  const ctx: ProxyContext = {
    resolver: options.resolver,
    balancer: options.balancer ?? new InFlightBalancer(),
    pool,
    logger,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    metrics,
    observability: options.observability,
    // Replaced by listen(): the host rule depends on the address bound.
    browser: new BrowserPolicy(options.browser ?? {}, options.publicHost ?? '127.0.0.1'),
    onRouted: options.onRouted,
    callEnded(call: ProxyCall): void {
      inFlight--;
      if (call.observed !== undefined) {
        call.noteOutcome();
        options.observability!.end(call.observed);
      }
      if (metrics?.onCallEnd !== undefined) {
        try {
          metrics.onCallEnd(call.callEvent());
        } catch (err) {
          logger.error({ err }, 'node-API metrics hook threw');
        }
      }
      if (inFlight === 0 && onDrained !== undefined) onDrained();
    },
  };

  // No limit on a whole request: uploads stream to the instance for as long as they take.
  const http1Server = http.createServer(
    http1TimeoutOptions(timeouts, 0),
    (req, res) => {
      inFlight++;
      if (closing !== undefined) res.shouldKeepAlive = false;
      new ProxyCall(ctx, new Http1Caller(req, res)).start();
    },
  );
  // An oversize upload that asks first (Expect: 100-continue) gets its 413 before sending.
  http1Server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // So does one refused for its origin or host.
    if (!(Number(req.headers['content-length'] ?? NaN) > ctx.maxBodyBytes) && ctx.browser.refusal(req.headers) === undefined) res.writeContinue();
    http1Server.emit('request', req, res);
  });
  trackHandedOverConnections(http1Server);
  http1Server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ err: err.code ?? err.message }, 'bad or late HTTP/1.1 request on the node API');
    // Written, then cut: a client that keeps sending must not keep a half-closed socket open.
    if (socket.writable && !socket.destroyed && !(socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage?.headersSent) {
      socket.write(`HTTP/1.1 ${clientErrorStatus(err.code)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  const sessions = new Set<Http2Session>();
  const http2Server = http2.createServer({ settings: HTTP2_SETTINGS });
  // The head-limit budget the sniffer left to the session being handed over (see `targets`).
  let handedOverSpentMs = 0;
  http2Server.on('session', (session: Http2Session) => {
    sessions.add(session);
    const firstStreamWithinMs = timeouts.headerTimeoutMs > 0 ? Math.max(1, timeouts.headerTimeoutMs - handedOverSpentMs) : 0;
    enforceSessionTimeouts(session, firstStreamWithinMs, timeouts.idleTimeoutMs);
    session.once('close', () => sessions.delete(session));
    if (closing !== undefined) session.close();
  });
  http2Server.on('sessionError', (err: Error) => logger.debug({ err }, 'h2c caller session failed'));
  http2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', ignore);
    inFlight++;
    new ProxyCall(ctx, new Http2Caller(stream, headers)).start();
  });

  const sockets = new Set<Socket>();
  const targets = {
    http1: (socket: Socket) => http1Server.emit('connection', socket),
    // Node makes the session and emits 'session' synchronously within this emit.
    http2: (socket: Socket, spentMs: number) => {
      handedOverSpentMs = spentMs;
      http2Server.emit('connection', socket);
      handedOverSpentMs = 0;
    },
  };
  const listener = net.createServer({ noDelay: true }, (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (options.tls) acceptSecureProtocol(socket, options.tls, targets, timeouts.headerTimeoutMs);
    else sniffProtocol(socket, targets, timeouts.headerTimeoutMs);
  });

  function drain(): Promise<void> {
    if (inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        onDrained = undefined;
        logger.warn({ inFlight }, 'node API stopped with calls still in flight');
        resolve();
      }, drainTimeoutMs);
      onDrained = () => {
        clearTimeout(timer);
        onDrained = undefined;
        resolve();
      };
    });
  }

  async function stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const session of sessions) session.close();
    // Also stops the head-deadline sweep; the server itself never listened.
    http1Server.close();
    await drain();
    for (const session of sessions) session.destroy();
    for (const socket of sockets) socket.destroy();
    pool.close();
    await stopped;
  }

  return {
    listen(port = DEFAULT_NODE_API_PORT, host = '127.0.0.1'): Promise<AddressInfo> {
      ctx.browser = new BrowserPolicy(options.browser ?? {}, options.publicHost ?? host);
      return new Promise<AddressInfo>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        listener.once('error', onError);
        listener.listen(port, host, () => {
          listener.removeListener('error', onError);
          listener.on('error', (err: Error) => logger.error({ err }, 'node API listener failed'));
          const address = listener.address() as AddressInfo;
          logger.info({ address: address.address, port: address.port, tls: options.tls !== undefined }, 'node API listening');
          resolve(address);
        });
      });
    },
    close(): Promise<void> {
      closing ??= stop();
      return closing;
    },
    address(): AddressInfo | null {
      const address = listener.address();
      return address !== null && typeof address === 'object' ? address : null;
    },
    inFlight(): number {
      return inFlight;
    },
  };
}
