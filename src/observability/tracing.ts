import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import {
  ROOT_CONTEXT,
  SpanKind,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { packageRoot } from '../paths';

/** Headers as Node and grpc-js hand them over: a name may repeat. */
export type HeaderCarrier = Record<string, string | string[] | undefined>;

const propagator = new W3CTraceContextPropagator();

/** Berth's version, from its package.json (read only when spans are recorded). */
function berthVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The collector's URL for traces: an endpoint given as a base (`http://collector:4318`) gets the OTLP path. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`;
  return url.toString();
}

export interface TracingOptions {
  /** OTLP/HTTP collector (`--otlp-endpoint`); without one no span is recorded. */
  endpoint?: string;
  clusterId: string;
  /** How long finished spans wait to be sent in one batch (default 1 s). */
  exportDelayMs?: number;
}

/**
 * Berth's part in W3C trace context: the caller's `traceparent` read on every
 * listener, and handed on to instances (node-API requests, calls to a
 * checkpoint worker). With a collector configured, each call is a span, and
 * so is each call Berth makes to an instance for it, exported over OTLP/HTTP
 * (JSON). Without one, nothing is recorded: a caller's trace context passes
 * through as it came, at the cost of reading one header.
 *
 * The provider is Berth's own, not registered as the process-wide one, and
 * every span is started with an explicit parent: several Berths in one
 * process (as in tests) keep their spans apart.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider | undefined;
  private readonly tracer: Tracer | undefined;

  constructor(options: TracingOptions) {
    if (!options.endpoint) return;
    const exporter = new OTLPTraceExporter({ url: tracesUrl(options.endpoint) });
    const version = berthVersion();
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: 'berth',
        [ATTR_SERVICE_VERSION]: version,
        'service.instance.id': `${hostname()}:${process.pid}`,
        'host.name': hostname(),
        'process.pid': process.pid,
        'berth.cluster_id': options.clusterId,
      }),
      spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: options.exportDelayMs ?? 1000 })],
    });
    this.tracer = this.provider.getTracer('berth', version);
  }

  /** Whether spans are recorded and exported. */
  get recording(): boolean {
    return this.tracer !== undefined;
  }

  /** The trace context a caller sent (`traceparent`, `tracestate`), or undefined when it sent none or a malformed one. */
  incoming(headers: HeaderCarrier): Context | undefined {
    if (headers.traceparent === undefined) return undefined;
    const context = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    return trace.getSpanContext(context) === undefined ? undefined : context;
  }

  /**
   * Starts a span under `parent` (a new trace without one); undefined when
   * nothing is recorded. Returns the span and the context that carries it.
   */
  start(name: string, kind: SpanKind, parent: Context | undefined, attributes?: Attributes): { span: Span; context: Context } | undefined {
    if (this.tracer === undefined) return undefined;
    const base = parent ?? ROOT_CONTEXT;
    const span = this.tracer.startSpan(name, { kind, attributes }, base);
    return { span, context: trace.setSpan(base, span) };
  }

  /** Sends what is left and stops exporting. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}

/** The `traceparent` (and `tracestate`) that hand `context` on to the next hop; empty without a trace. */
export function traceHeaders(context: Context | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (context !== undefined) propagator.inject(context, out, defaultTextMapSetter);
  return out;
}

/** The trace id of a context, for log lines. */
export function traceIdOf(context: Context | undefined): string | undefined {
  return context === undefined ? undefined : trace.getSpanContext(context)?.traceId;
}

export { SpanKind };
