import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import { status as Code } from '@grpc/grpc-js';
import { guard, requestIdOf, type CallContext } from '../adapter';
import { carriesSecrets, NOT_QUOTED } from '../redaction';
import { httpStatusOf, statusJson, toStatusError, type StatusError } from '../status';
import { PermissionDeniedError, QuotaExceededError, ValidationError } from '../../domain/errors';
import { asciiText } from '../../domain/ascii-text';
import { stringifyJson } from '../../domain/exact-json';
import type { Logger } from '../../logger';
import type { Observability } from '../../observability/observability';
import type { ObservedCall } from '../../observability/observed-call';
import { BrowserPolicy, type BrowserPolicyOptions } from '../../gateway/browser-policy';
import { http1TimeoutOptions, DEFAULT_CONNECTION_TIMEOUTS, type ConnectionTimeouts } from '../../gateway/connection-timeouts';
import type { TlsIdentity } from '../../gateway/server-tls';
import { closeAfter, readBody, requireJsonContentType } from './read-body';
import { findRoute, requestJson, transcode, type Route } from './transcoder';

/** A handler for paths outside the transcoded API; returns false when the path is not its own. */
export type ExtraHandler = (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) => boolean | Promise<boolean>;

/**
 * A signal aborted only when the caller leaves before the answer: aborting every
 * finished call made an AbortError, and with it a captured stack holding the
 * response, per request.
 */
export function callerSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Answers a failed call with its status as JSON. A refusal that comes before
 * the body is read (413 for its size, 415 for its type) also closes the
 * connection once answered, so that the body is not read just to keep it.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, registry: Registry, err: unknown): void {
  const status = toStatusError(err);
  if (res.headersSent) return;
  const bodyUnread = status.httpStatus === 413 || status.httpStatus === 415;
  if (bodyUnread) closeAfter(req, res);
  const headers: Record<string, string> = bodyUnread ? { connection: 'close' } : {};
  if (status.retryAfterSeconds !== undefined) headers['retry-after'] = String(status.retryAfterSeconds);
  sendJson(res, httpStatusOf(status), errorJson(registry, status), headers);
}

export interface HttpServerOptions {
  registry: Registry;
  routes: () => Route[];
  log: Logger;
  maxBodyBytes: number;
  /** True once the database is migrated and the servers take calls. */
  ready: () => boolean;
  extra?: ExtraHandler[];
  /** Head-read and idle limits of callers' connections (default 10 s and 65 s). */
  timeouts?: ConnectionTimeouts;
  /** Origins granted CORS and host names accepted besides loopback ones (none unless given). */
  browser?: BrowserPolicyOptions;
  /** Serve HTTPS with this certificate and key (cleartext HTTP without). */
  tls?: Pick<TlsIdentity, 'cert' | 'key'>;
  /** The access log and traces of the requests. */
  observability?: Observability;
}

/** A request as it arrived: its request id, and the observed call when calls are observed. */
interface Arrival {
  requestId: string;
  observed?: ObservedCall;
}

export interface HttpServer {
  server: http.Server | https.Server;
  listen(host: string, port: number): Promise<number>;
  close(graceMs: number): Promise<void>;
}

/**
 * Answers a method that the path does not take: 405 with `Allow` naming the
 * methods it does, and as grpc-gateway does, UNIMPLEMENTED in the body.
 */
export function sendMethodNotAllowed(res: ServerResponse, method: string | undefined, path: string, allow: readonly string[]): void {
  const message = `${method} is not allowed on ${path}; it takes ${allow.join(', ')}`;
  sendJson(res, 405, { code: Code.UNIMPLEMENTED, message, details: [] }, { allow: allow.join(', ') });
}

export function sendJson(res: ServerResponse, status: number, body: JsonValue, headers: Record<string, string> = {}): void {
  const text = stringifyJson(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The JSON error body: google.rpc.Status in proto3 JSON, details with their @type. */
export function errorJson(registry: Registry, err: StatusError): JsonValue {
  return statusJson(err, registry);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as JSON: undefined when empty; INVALID_ARGUMENT naming `body`
 * when it is not UTF-8 or not JSON (a lone surrogate escape such as
 * `"\ud800"` parses, and is refused later with the field that holds it).
 * With `quiet` (a request that carries secret values) the refusal leaves out
 * the parser's message, which quotes a piece of the body. `parse` reads the
 * decoded text (the typed routes keep integers beyond 2^53 exact).
 */
export function parseJsonBody<T = JsonValue>(raw: Buffer, quiet = false, parse: (text: string) => T = JSON.parse): T | undefined {
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = asciiText(raw) ?? strictUtf8.decode(raw);
  } catch {
    throw ValidationError.of('body', 'is not valid UTF-8');
  }
  try {
    return parse(text);
  } catch (err) {
    throw ValidationError.of('body', `is not valid JSON${quiet ? ` (${NOT_QUOTED})` : `: ${(err as Error).message}`}`);
  }
}

/**
 * A request body as JSON, read only when its content type says JSON
 * (UNSUPPORTED_MEDIA_TYPE, 415, otherwise; see {@link requireJsonContentType}).
 */
export async function readJsonBody(req: IncomingMessage, maxBodyBytes: number, quiet = false): Promise<JsonValue | undefined> {
  requireJsonContentType(req.headers);
  return parseJsonBody(await readBody(req, maxBodyBytes), quiet);
}

/**
 * The HTTP listener: the browser rules (`gateway/browser-policy.ts`), health
 * endpoints, extra handlers, and REST transcoding of every annotated gRPC method.
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { registry, log } = options;
  // Set by listen(): the host rule depends on the address bound.
  let browser = new BrowserPolicy(options.browser ?? {}, '127.0.0.1');

  /** Answers a request refused by the browser rules, or returns false. */
  function refusedByBrowserRules(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    const refusal = browser.refusal(req.headers);
    if (refusal === undefined) return false;
    log.info({ requestId, method: req.method, url: req.url?.slice(0, 200), origin: req.headers.origin, host: req.headers.host }, 'request refused by the browser rules');
    // Nothing of the body is read: closing the connection spares reading it to keep the connection.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) closeAfter(req, res);
    sendError(req, res, registry, new PermissionDeniedError(refusal));
    return true;
  }

  /**
   * A request arrives: its request id (the caller's when valid) goes on every
   * answer, and its access line is written once the response is done.
   */
  function arrive(req: IncomingMessage, res: ServerResponse): Arrival {
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined);
    res.setHeader('x-request-id', requestId);
    const observability = options.observability;
    if (observability === undefined) return { requestId };
    const observed = observability.begin('http', requestId, req.headers, {
      httpMethod: req.method,
      path: (req.url ?? '/').split('?', 1)[0]!.slice(0, 200),
      protocol: `http/${req.httpVersion}`,
    });
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isInteger(declared)) observed.bytesIn = declared;
    res.once('close', () => {
      if (res.headersSent) observed.httpStatus = res.statusCode;
      const length = Number(res.getHeader('content-length') ?? NaN);
      if (Number.isInteger(length)) observed.bytesOut = length;
      if (!res.writableFinished) observed.message ??= 'the caller left before the answer was complete';
      observability.end(observed);
    });
    return { requestId, observed };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, { requestId, observed }: Arrival): Promise<void> {
    if (refusedByBrowserRules(req, res, requestId)) return;
    if (browser.isPreflight(req.method ?? '', req.headers)) {
      res.writeHead(204, browser.preflightHeaders(req.headers));
      res.end();
      return;
    }
    const grant = browser.grantHeaders(req.headers);
    if (grant !== undefined) for (const [name, value] of Object.entries(grant)) res.setHeader(name, value);
    const url = new URL(req.url ?? '/', 'http://berth');
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') return options.ready() ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'starting' });
    for (const extra of options.extra ?? []) if (await extra(req, res, url, requestId)) return;
    const found = findRoute(options.routes(), req.method ?? 'GET', url.pathname);
    if (found === undefined) return sendJson(res, 404, { code: Code.NOT_FOUND, message: `no route for ${req.method} ${url.pathname}`, details: [] });
    if ('allow' in found) return sendMethodNotAllowed(res, req.method, url.pathname, found.allow);
    if (observed) {
      observed.method = found.route.method.path;
      observed.route = found.route.template.source;
    }
    const ctx: CallContext = {
      requestId,
      log: log.child({ requestId }),
      signal: callerSignal(res),
      headers: Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
      transport: 'http',
      observer: found.route.method.observer,
    };
    try {
      // Reading, parsing and transcoding run inside the chokepoint too: a failure anywhere is answered and logged once.
      const answer = await guard(found.route.method.path, ctx, async () => {
        // Who calls is known before anything it sent is read.
        ctx.caller = await found.route.method.guardian.callerOf(ctx.headers);
        const json = requestJson(found.route, found.vars, url.searchParams, await readJsonBody(req, options.maxBodyBytes, carriesSecrets(found.route.input)));
        return transcode(found.route, registry, json, ctx);
      });
      sendJson(res, 200, answer);
    } catch (err) {
      sendError(req, res, registry, err);
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse, arrival: Arrival = arrive(req, res)): void => {
    const run = (): Promise<void> =>
      handle(req, res, arrival).catch((err: unknown) => {
        log.error({ err, requestId: arrival.requestId }, 'http handler failed');
        if (!res.headersSent) sendJson(res, 500, { code: Code.INTERNAL, message: 'internal error', details: [] });
        else res.destroy();
      });
    void (arrival.observed ? arrival.observed.run(run) : run());
  };
  const timeouts = options.timeouts ?? DEFAULT_CONNECTION_TIMEOUTS;
  // A whole request, body included, may take Node's default of 5 minutes.
  const limits = http1TimeoutOptions(timeouts, 300_000);
  const server = options.tls
    ? // The head limit starts once the handshake is done; the handshake has a limit of its own, as long.
      https.createServer({ ...limits, cert: options.tls.cert, key: options.tls.key, ALPNProtocols: ['http/1.1'], handshakeTimeout: timeouts.headerTimeoutMs }, onRequest)
    : http.createServer(limits, onRequest);
  // A client that asks before sending (Expect: 100-continue, as curl does for large bodies)
  // hears 413 before it sends an oversize body, instead of a reset while it sends.
  // So does a body that would be refused for its origin, its host or its type.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const arrival = arrive(req, res);
    if (refusedByBrowserRules(req, res, arrival.requestId)) return;
    const declared = Number(req.headers['content-length'] ?? NaN);
    try {
      if (declared > options.maxBodyBytes) throw new QuotaExceededError(`the request body is ${declared} bytes; the limit is ${options.maxBodyBytes} bytes`, 'request_size');
      requireJsonContentType(req.headers);
    } catch (err) {
      sendError(req, res, registry, err);
      return;
    }
    res.writeContinue();
    onRequest(req, res, arrival);
  });
  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        browser = new BrowserPolicy(options.browser ?? {}, host);
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: (graceMs) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, graceMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
