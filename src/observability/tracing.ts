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
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../logger';
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
  /** Told of exports that failed (at most one report a minute). */
  log: Logger;
  /** How long finished spans wait to be sent in one batch (default 1 s). */
  exportDelayMs?: number;
}

/**
 * The OTLP exporter, telling Berth's log when the collector does not take
 * a batch (OpenTelemetry's own diagnostics are silent unless registered
 * process-wide). Once a minute at most: a collector that is down must not
 * flood the log.
 */
class ReportingExporter implements SpanExporter {
  private lastReport = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: Logger,
    private readonly url: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      const now = Date.now();
      if (result.code !== ExportResultCode.SUCCESS && now - this.lastReport >= 60_000) {
        this.lastReport = now;
        this.log.warn({ url: this.url, spans: spans.length, err: result.error?.message }, 'the trace collector did not take a batch of spans; they are dropped');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
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
    const url = tracesUrl(options.endpoint);
    const exporter = new ReportingExporter(new OTLPTraceExporter({ url }), options.log, url);
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
    options.log.info({ url }, 'spans are exported over OTLP/HTTP');
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

  /** Sends what is left and stops exporting; a collector that does not answer holds the stop up for 5 s at most. */
  async shutdown(): Promise<void> {
    if (this.provider === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000).unref()));
    await Promise.race([this.provider.shutdown(), late]).finally(() => clearTimeout(timer));
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
