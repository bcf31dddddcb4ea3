import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { status as Code } from '@grpc/grpc-js';
import type { Logger } from '../logger';
import { ObservedCall, type Listener } from './observed-call';
import { SpanKind, Tracing, traceIdOf, type HeaderCarrier } from './tracing';

export interface ObservabilityOptions {
  /** OTLP/HTTP collector for spans (`--otlp-endpoint`); none: no span is recorded. */
  otlpEndpoint?: string;
  clusterId: string;
}

/** What a listener knows of a call when it arrives. */
export interface CallStart {
  method?: string;
  httpMethod?: string;
  path?: string;
  protocol?: string;
}

/** gRPC codes that say the server failed (OpenTelemetry's rule for server spans); the rest are the caller's. */
const SERVER_FAULTS = new Set<number>([Code.UNKNOWN, Code.DEADLINE_EXCEEDED, Code.UNIMPLEMENTED, Code.INTERNAL, Code.UNAVAILABLE, Code.DATA_LOSS]);

const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** The access line of a call Berth did not serve itself (see {@link Observability.record}). */
export interface RelayedCall {
  listener: Listener;
  protocol: string;
  requestId: string;
  httpMethod: string;
  path: string;
  nodeId?: string;
  aliasName?: string;
  instanceId?: string;
  status: number;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  principalId?: string;
  principal?: string;
  /** Which data plane relayed it. */
  dataPlane: 'haproxy';
}

/**
 * The access log and the traces of every listener: each call is begun by
 * the listener that takes it and ended once its answer is out, when one
 * line goes to the access log (`component: "access"`, at info) and its span,
 * if spans are recorded, ends. A REST call transcoded into a gRPC method is
 * one call, logged as the HTTP request it was.
 */
export class Observability {
  readonly tracing: Tracing;
  private readonly log: Logger;

  constructor(options: ObservabilityOptions, log: Logger) {
    this.tracing = new Tracing({ endpoint: options.otlpEndpoint, clusterId: options.clusterId, log: log.child({ component: 'traces' }) });
    this.log = log.child({ component: 'access' });
  }

  /** A call that just arrived: its span (under the caller's `traceparent`, if sent) starts now. */
  begin(listener: Listener, requestId: string, headers: HeaderCarrier, start: CallStart = {}): ObservedCall {
    const incoming = this.tracing.incoming(headers);
    const attributes: Attributes = { 'berth.request_id': requestId };
    if (start.method !== undefined) attributes['rpc.system'] = 'grpc';
    if (start.httpMethod !== undefined) attributes['http.request.method'] = start.httpMethod;
    const started = this.tracing.start(start.method?.slice(1) ?? start.httpMethod ?? listener, SpanKind.SERVER, incoming, attributes);
    const call = new ObservedCall(listener, requestId, this.tracing, started?.context ?? incoming, started?.span);
    call.method = start.method;
    call.httpMethod = start.httpMethod;
    call.path = start.path;
    call.protocol = start.protocol;
    return call;
  }

  /** The call is answered: one access line, and its span ends. Once per call; later calls do nothing. */
  end(call: ObservedCall): void {
    if (call.ended) return;
    call.ended = true;
    const durationMs = round(performance.now() - call.startedAt);
    if (call.span !== undefined) this.endSpan(call);
    this.log.info(
      {
        listener: call.listener,
        protocol: call.protocol,
        requestId: call.requestId,
        method: call.method,
        httpMethod: call.httpMethod,
        path: call.path,
        route: call.route,
        nodeId: call.nodeId,
        aliasId: call.aliasId,
        aliasName: call.aliasName,
        instanceId: call.instanceId,
        code: call.code === undefined ? undefined : (Code[call.code] ?? String(call.code)),
        status: call.httpStatus,
        durationMs,
        bytesIn: call.bytesIn,
        bytesOut: call.bytesOut,
        principalId: call.principalId,
        principal: call.principalName,
        traceId: traceIdOf(call.trace),
        message: call.message,
      },
      'access',
    );
  }

  /**
   * A call answered on Berth's behalf by another process (HAProxy's fast
   * path, `--data-plane haproxy`): its access line, with the fields `end`
   * writes. It has no span.
   */
  record(line: RelayedCall): void {
    this.log.info(line, 'access');
  }

  /** Sends the spans still waiting; after Berth's listeners are closed. */
  shutdown(): Promise<void> {
    return this.tracing.shutdown();
  }

  private endSpan(call: ObservedCall): void {
    const span = call.span!;
    const attributes: Attributes = {};
    if (call.method !== undefined) {
      const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(call.method) ?? [];
      if (service !== undefined) attributes['rpc.service'] = service;
      if (method !== undefined) attributes['rpc.method'] = method;
    }
    if (call.code !== undefined) attributes['rpc.grpc.status_code'] = call.code;
    if (call.httpStatus !== undefined) attributes['http.response.status_code'] = call.httpStatus;
    if (call.path !== undefined) attributes['url.path'] = call.path;
    if (call.route !== undefined) attributes['http.route'] = call.route;
    if (call.protocol !== undefined) attributes['network.protocol.name'] = call.protocol;
    if (call.nodeId !== undefined) attributes['berth.node_id'] = call.nodeId;
    if (call.aliasId !== undefined) attributes['berth.alias_id'] = call.aliasId;
    if (call.aliasName !== undefined) attributes['berth.alias_name'] = call.aliasName;
    if (call.instanceId !== undefined) attributes['berth.instance_id'] = call.instanceId;
    if (call.principalId !== undefined) attributes['enduser.id'] = call.principalId;
    span.setAttributes(attributes);
    // The name OpenTelemetry's conventions give: the method for gRPC, "METHOD route" for HTTP.
    if (call.method !== undefined) span.updateName(call.method.slice(1));
    else if (call.httpMethod !== undefined) span.updateName(call.route !== undefined ? `${call.httpMethod} ${call.route}` : call.httpMethod);
    const failed = (call.code !== undefined && SERVER_FAULTS.has(call.code)) || (call.httpStatus !== undefined && call.httpStatus >= 500);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: call.message });
    span.end();
  }
}
