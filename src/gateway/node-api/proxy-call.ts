/**
 * One call through the node API, from routing headers to the last byte:
 * resolve the node, pick an instance, relay head, body and trailers in both
 * directions with backpressure and without buffering, enforce the size limit
 * and the node's timeouts, and resend once when an instance could not have
 * seen the call.
 *
 * What is resent: only a call whose attempt failed before any response and
 * before a single byte of its body was read from the caller, because bodies
 * are streamed and never kept. Bodies start flowing only once the connection
 * to the instance is up, so a refused or failed connect always qualifies;
 * so does a refused HTTP/2 stream or a keep-alive connection reset on reuse,
 * when the request has no body or had not started sending it.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { InFlightBalancer } from '../balancer';
import type { BrowserPolicy } from '../browser-policy';
import type { Caller, CallerListener } from './caller';
import { GrpcCode } from './grpc-status';
import { Http1Exchange } from './http1-exchange';
import { Http2Exchange } from './http2-exchange';
import type { NodeApiLogger } from './logger';
import type { NodeApiCallEvent, NodeApiMetrics } from './node-api-metrics';
import { answeredBy, contentLength, NODE_ID_HEADER, readRoute, relayTrailers, REQUEST_ID_HEADER } from './proxy-headers';
import type { Observability } from '../../observability/observability';
import type { ObservedCall } from '../../observability/observed-call';
import { requestIdOf } from '../../observability/request-id';
import { traceHeaders } from '../../observability/tracing';
import { NodeApiError, type Backend, type NodeApiResolver, type NodeApiRoute, type ResolvedTarget, type ResolvingCall } from './resolver';
import { isSessionGone, type ExchangeListener, type UpstreamExchange, type UpstreamFailure } from './upstream-exchange';
import type { UpstreamPool } from './upstream-pool';

/** What every call shares: built once per server. */
export interface ProxyContext {
  readonly resolver: NodeApiResolver;
  readonly balancer: InFlightBalancer;
  readonly pool: UpstreamPool;
  readonly logger: NodeApiLogger;
  /** Largest request body and largest response body, in bytes. */
  readonly maxBodyBytes: number;
  readonly metrics: NodeApiMetrics | undefined;
  /** The access log and traces of the calls, if observed. */
  readonly observability: Observability | undefined;
  /** Origins, hosts and CORS; set when the listener binds. */
  browser: BrowserPolicy;
  /** Told once per call when it is over, whatever the outcome. */
  callEnded(call: ProxyCall): void;
  /** Told of each call let through to a node (its head, its route, the node): see `NodeApiServerOptions.onRouted`. */
  readonly onRouted: ((headers: IncomingHttpHeaders, route: NodeApiRoute, nodeId: string) => void) | undefined;
}

const NO_END = { end: false } as const;

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function errorCode(error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.message;
}

/** One call; made per request by the server and dropped when the caller's side closes. */
export class ProxyCall implements CallerListener, ExchangeListener, ResolvingCall {
  private route: NodeApiRoute | undefined;
  /** Told when the caller leaves: a resolver holding the call (its node wakes) lets go of it. */
  private gone: (() => void) | undefined;
  /** Berth's CORS grant when the caller is a page of a listed origin. */
  private cors: Record<string, string> | undefined;
  private requestLength = -1;
  private target: ResolvedTarget | undefined;
  private backend: Backend | undefined;
  /** The instance whose in-flight count this call holds, if any. */
  private holding: string | undefined;
  private exchange: UpstreamExchange | undefined;
  private upstreamDone = true;
  private excluded: Set<string> | undefined;
  private attempts = 0;
  private bodyStarted = false;
  private responseStarted = false;
  private responseComplete = false;
  private upstreamBody: Readable | undefined;
  private requestBytes = 0;
  private responseBytes = 0;
  private deadline: NodeJS.Timeout | undefined;
  private closed = false;
  private countRequest: ((chunk: Buffer) => void) | undefined;
  private countResponse: ((chunk: Buffer) => void) | undefined;
  private readonly startedAt: number;
  /** What the caller got, for metrics. */
  private httpStatus = 0;
  private grpcStatus: number | undefined;
  private responseLength = -1;
  /** Echoed on every answer, relayed or Berth's own. */
  private readonly requestId: string;
  /** This call in the access log and traces. */
  readonly observed: ObservedCall | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly caller: Caller,
  ) {
    this.startedAt = ctx.metrics === undefined ? 0 : performance.now();
    this.requestId = requestIdOf(caller.headers['x-request-id']);
    this.observed = ctx.observability?.begin('node-api', this.requestId, caller.headers, {
      method: caller.grpc ? caller.path.split('?', 1)[0] : undefined,
      httpMethod: caller.method,
      path: caller.path.split('?', 1)[0]!.slice(0, 200),
      protocol: caller.protocol,
    });
    caller.listen(this);
  }

  /** Routes and sends the call. Never throws: every failure is answered to the caller. */
  start(): void {
    const observed = this.observed;
    if (observed === undefined) {
      this.routeAndSend();
      return;
    }
    // The instance sees Berth's span as the caller (without spans recorded, the caller's own `traceparent` passes as it came).
    if (observed.span !== undefined) Object.assign(this.caller.headers, traceHeaders(observed.trace));
    // Resolving and authorizing run as part of the call (who calls is noted on it).
    observed.run(() => this.routeAndSend());
  }

  private routeAndSend(): void {
    const headers = this.caller.headers;
    const browser = this.ctx.browser;
    const refusal = browser.refusal(headers);
    if (refusal !== undefined) {
      this.failCall(new NodeApiError(GrpcCode.PERMISSION_DENIED, refusal));
      return;
    }
    if (browser.isPreflight(this.caller.method, headers)) {
      // Answered by Berth, never relayed: a preflight names no node, and CORS is Berth's alone.
      this.responseComplete = true;
      this.httpStatus = 204;
      this.caller.respond(204, undefined, {}, true, { ...browser.preflightHeaders(headers), [REQUEST_ID_HEADER]: this.requestId });
      return;
    }
    this.cors = browser.grantHeaders(headers);
    const route = readRoute(headers);
    this.route = route;
    if (route.nodeId === undefined && route.aliasName === undefined) {
      this.failCall(new NodeApiError(GrpcCode.INVALID_ARGUMENT, 'the x-node-id or x-node-alias header is required'));
      return;
    }
    this.requestLength = contentLength(headers);
    const max = this.ctx.maxBodyBytes;
    if (this.requestLength > max) {
      this.failCall(
        new NodeApiError(
          GrpcCode.RESOURCE_EXHAUSTED,
          `the request body of ${this.requestLength} bytes is over the limit of ${max} bytes`,
          413,
        ),
      );
      return;
    }
    let resolved: ResolvedTarget | Promise<ResolvedTarget>;
    try {
      resolved = this.ctx.resolver.resolve(route, this);
    } catch (err) {
      this.onResolveError(err);
      return;
    }
    if (isPromiseLike(resolved)) {
      void resolved.then(
        (target) => this.onResolved(target),
        (err: unknown) => this.onResolveError(err),
      );
    } else {
      this.onResolved(resolved);
    }
  }

  /** Whether what the caller got is watched (metrics or the access log). */
  private get watched(): boolean {
    return this.ctx.metrics !== undefined || this.observed !== undefined;
  }

  /** Notes on the observed call what it came to; the server ends it. */
  noteOutcome(): void {
    const o = this.observed;
    if (o === undefined) return;
    o.nodeId = this.target?.nodeId ?? this.route?.nodeId;
    o.aliasName = this.route?.aliasName;
    o.instanceId = this.backend?.instanceId;
    if (this.httpStatus !== 0) o.httpStatus = this.httpStatus;
    if (this.grpcStatus !== undefined) o.code = this.grpcStatus;
    o.bytesIn = this.requestLength >= 0 ? this.requestLength : this.requestBytes;
    if (this.responseStarted) o.bytesOut = this.responseLength >= 0 ? this.responseLength : this.responseBytes;
    if (!this.responseComplete) o.message ??= 'the caller left before the answer was complete';
  }

  /** The event reported to metrics hooks; built only when there is a hook. */
  callEvent(): NodeApiCallEvent {
    return {
      nodeId: this.target?.nodeId ?? this.route?.nodeId,
      aliasName: this.route?.aliasName,
      instanceId: this.backend?.instanceId,
      protocol: this.caller.protocol,
      grpc: this.caller.grpc,
      httpStatus: this.httpStatus,
      grpcStatus: this.grpcStatus,
      attempts: this.attempts,
      durationMs: performance.now() - this.startedAt,
    };
  }

  // --- caller events -------------------------------------------------------

  onGone(listener: () => void): void {
    this.gone = listener;
  }

  onCallerClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.gone?.();
    this.gone = undefined;
    this.clearDeadline();
    // A caller gone before the instance finished: cancel the upstream call too.
    this.abortExchange();
    this.ctx.callEnded(this);
  }

  // --- routing ---------------------------------------------------------------

  private onResolveError(err: unknown): void {
    if (err instanceof NodeApiError) {
      this.failCall(err);
      return;
    }
    this.ctx.logger.error({ err, route: this.route }, 'node-API resolver failed');
    this.failCall(new NodeApiError(GrpcCode.INTERNAL, 'internal error', undefined, { cause: err }));
  }

  private onResolved(target: ResolvedTarget): void {
    if (this.closed || this.caller.closed) return;
    this.target = target;
    if (this.ctx.onRouted !== undefined) this.ctx.onRouted(this.caller.headers, this.route!, target.nodeId);
    if (target.timeoutMs > 0) this.deadline = setTimeout(ProxyCall.onDeadline, target.timeoutMs, this);
    this.send();
  }

  private send(): void {
    const target = this.target;
    if (target === undefined) return;
    const backend = this.ctx.balancer.pick(target.backends, this.excluded);
    if (backend === undefined) {
      this.failCall(
        this.attempts === 0
          ? new NodeApiError(GrpcCode.UNAVAILABLE, `node ${target.nodeId} has no healthy instance`)
          : new NodeApiError(GrpcCode.UNAVAILABLE, `node ${target.nodeId}: no instance could be reached`, 502),
      );
      return;
    }
    this.attempts++;
    this.backend = backend;
    this.holding = backend.instanceId;
    this.ctx.balancer.begin(backend.instanceId);
    this.upstreamDone = false;
    try {
      const exchange =
        target.endpointType === 'grpc'
          ? new Http2Exchange(this.ctx.pool.session(backend), this.caller, this, target.idleTimeoutMs)
          : new Http1Exchange(this.ctx.pool.agent, backend, this.caller, this, target.idleTimeoutMs);
      this.exchange = exchange;
      exchange.start();
    } catch (err) {
      // Synchronous refusals from Node: a request head it will not send, or a session already gone.
      const error = asError(err);
      this.onUpstreamError(error, isSessionGone(error) ? 'refused' : 'other');
    }
  }

  // --- instance events -------------------------------------------------------

  onUpstreamReady(): void {
    const exchange = this.exchange;
    if (this.closed || this.upstreamDone || exchange === undefined) return;
    const body = this.caller.body;
    this.bodyStarted = true;
    if (this.requestLength < 0) {
      // No declared length: count as it flows, and stop at the limit.
      this.countRequest ??= (chunk: Buffer) => this.onRequestChunk(chunk);
      body.on('data', this.countRequest);
    }
    body.pipe(exchange.requestBody);
  }

  onUpstreamResponse(
    status: number,
    statusMessage: string | undefined,
    headers: IncomingHttpHeaders,
    body: Readable,
    endStream: boolean,
  ): void {
    if (this.closed) return;
    const max = this.ctx.maxBodyBytes;
    const length = contentLength(headers);
    if (length > max && this.caller.method !== 'HEAD') {
      this.failCall(
        new NodeApiError(
          GrpcCode.RESOURCE_EXHAUSTED,
          `the response body of ${length} bytes is over the limit of ${max} bytes`,
          502,
        ),
      );
      return;
    }
    try {
      const target = this.target;
      const backend = this.backend;
      // Who answered, in Berth's words (an instance's own headers of these names are dropped).
      const added = target !== undefined && backend !== undefined ? { ...this.cors, ...answeredBy(target.nodeId, backend.instanceId) } : { ...this.cors };
      added[REQUEST_ID_HEADER] = this.requestId;
      const takesBody = this.caller.respond(status, statusMessage, headers, endStream, added);
      this.responseStarted = true;
      this.httpStatus = status;
      this.responseLength = length;
      if (this.watched) this.noteGrpcStatus(headers);
      if (!takesBody) {
        this.responseComplete = true;
        body.resume();
        return;
      }
    } catch (err) {
      this.ctx.logger.warn(
        { err, nodeId: this.target?.nodeId, instanceId: this.backend?.instanceId },
        'instance sent a response head that cannot be relayed',
      );
      this.failCall(new NodeApiError(GrpcCode.UNAVAILABLE, 'the instance sent an invalid response head', 502));
      return;
    }
    this.upstreamBody = body;
    if (length < 0) {
      this.countResponse ??= (chunk: Buffer) => this.onResponseChunk(chunk);
      body.on('data', this.countResponse);
    }
    body.pipe(this.caller.responseBody, NO_END);
  }

  onUpstreamEnd(trailers: IncomingHttpHeaders | undefined): void {
    this.upstreamDone = true;
    this.release();
    if (this.closed || this.responseComplete) return;
    this.responseComplete = true;
    this.clearDeadline();
    if (trailers !== undefined && this.watched) this.noteGrpcStatus(trailers);
    this.caller.finish(trailers === undefined ? undefined : relayTrailers(trailers));
  }

  onUpstreamError(error: Error, failure: UpstreamFailure): void {
    const backend = this.backend;
    const target = this.target;
    this.upstreamDone = true;
    this.release();
    if (failure === 'connect' && backend !== undefined && target !== undefined) this.reportFailure(target, backend, error);
    if (this.closed) return;
    if (
      failure !== 'other' &&
      !this.responseStarted &&
      !this.bodyStarted &&
      this.attempts < 2 &&
      target !== undefined &&
      backend !== undefined
    ) {
      // Resend elsewhere when there is an elsewhere: a reset keep-alive connection often means the
      // instance is going away. A single instance is tried again on a fresh connection.
      if (failure === 'connect' || target.backends.length > 1) (this.excluded ??= new Set()).add(backend.instanceId);
      this.ctx.logger.debug(
        { nodeId: target.nodeId, instanceId: backend.instanceId, err: error },
        'resending a node-API call that the instance did not receive',
      );
      this.send();
      return;
    }
    this.ctx.logger.warn(
      { nodeId: target?.nodeId, instanceId: backend?.instanceId, err: error },
      'node-API call to an instance failed',
    );
    const where = backend === undefined ? '' : ` ${backend.instanceId}`;
    this.failCall(
      new NodeApiError(
        GrpcCode.UNAVAILABLE,
        `node ${target?.nodeId ?? ''}: instance${where} failed (${errorCode(error)})`,
        502,
      ),
    );
  }

  onUpstreamIdle(): void {
    if (this.closed || this.upstreamDone) return;
    const idle = this.target?.idleTimeoutMs ?? 0;
    this.failCall(new NodeApiError(GrpcCode.DEADLINE_EXCEEDED, `no data moved for ${idle} ms (idle timeout)`, 504));
  }

  // --- limits and timeouts ---------------------------------------------------

  private static onDeadline(call: ProxyCall): void {
    call.deadline = undefined;
    if (call.closed || call.responseComplete) return;
    const ms = call.target?.timeoutMs ?? 0;
    call.failCall(new NodeApiError(GrpcCode.DEADLINE_EXCEEDED, `the call took longer than ${ms} ms (timeout)`, 504));
  }

  private onRequestChunk(chunk: Buffer): void {
    this.requestBytes += chunk.length;
    if (this.requestBytes <= this.ctx.maxBodyBytes) return;
    this.failCall(
      new NodeApiError(
        GrpcCode.RESOURCE_EXHAUSTED,
        `the request body is over the limit of ${this.ctx.maxBodyBytes} bytes`,
        413,
      ),
    );
  }

  private onResponseChunk(chunk: Buffer): void {
    this.responseBytes += chunk.length;
    if (this.responseBytes <= this.ctx.maxBodyBytes) return;
    this.failCall(
      new NodeApiError(
        GrpcCode.RESOURCE_EXHAUSTED,
        `the response body is over the limit of ${this.ctx.maxBodyBytes} bytes`,
        502,
      ),
    );
  }

  // --- endings ---------------------------------------------------------------

  /** Ends the call with `error`: stops both bodies, cancels the instance's side, answers the caller. */
  private failCall(error: NodeApiError): void {
    this.clearDeadline();
    this.stopBodies();
    this.abortExchange();
    this.responseComplete = true;
    if (!this.caller.headersSent) this.httpStatus = this.caller.grpc ? 200 : error.httpStatus;
    if (this.caller.grpc) this.grpcStatus = error.code;
    if (this.observed !== undefined) this.observed.noteOutcome(error.code, error.message);
    if (this.closed) return;
    // Berth's own answer: it names the node when one was resolved, never an instance.
    const nodeId = this.target?.nodeId;
    const added: Record<string, string> = { ...this.cors, [REQUEST_ID_HEADER]: this.requestId };
    if (nodeId !== undefined) added[NODE_ID_HEADER] = nodeId;
    this.caller.fail(error, added);
  }

  private stopBodies(): void {
    const exchange = this.exchange;
    const body = this.caller.body;
    if (this.countRequest !== undefined) body.removeListener('data', this.countRequest);
    if (this.bodyStarted && exchange !== undefined) body.unpipe(exchange.requestBody);
    const upstream = this.upstreamBody;
    if (upstream !== undefined) {
      if (this.countResponse !== undefined) upstream.removeListener('data', this.countResponse);
      upstream.unpipe(this.caller.responseBody);
    }
  }

  private abortExchange(): void {
    if (!this.upstreamDone) {
      this.upstreamDone = true;
      this.exchange?.abort();
    }
    this.release();
  }

  private release(): void {
    if (this.holding === undefined) return;
    this.ctx.balancer.end(this.holding);
    this.holding = undefined;
  }

  private clearDeadline(): void {
    if (this.deadline === undefined) return;
    clearTimeout(this.deadline);
    this.deadline = undefined;
  }

  private reportFailure(target: ResolvedTarget, backend: Backend, error: Error): void {
    const report = this.ctx.resolver.reportFailure;
    if (report === undefined) return;
    try {
      report.call(this.ctx.resolver, target.nodeId, backend.instanceId, error);
    } catch (err) {
      this.ctx.logger.error({ err, nodeId: target.nodeId, instanceId: backend.instanceId }, 'reportFailure threw');
    }
  }

  private noteGrpcStatus(headers: IncomingHttpHeaders): void {
    const value = headers['grpc-status'];
    if (typeof value === 'string') this.grpcStatus = Number(value);
  }
}
