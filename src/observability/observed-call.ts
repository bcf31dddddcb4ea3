import { AsyncLocalStorage } from 'node:async_hooks';
import { SpanStatusCode, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { Caller } from '../domain/access';
import { SpanKind, traceHeaders, type Tracing } from './tracing';

/** The three listeners: gRPC (control plane, Execute, typed services), HTTP (REST, typed routes), the node API. */
export type Listener = 'grpc' | 'http' | 'node-api';

const scope = new AsyncLocalStorage<ObservedCall>();

/**
 * The call being served, wherever its work has got to: set by the listener
 * that took it, read by what learns about it on the way (who calls, which
 * node answers) and by what calls an instance for it (to hand the trace on).
 * Undefined outside a call (the supervisor's probes, a test calling a
 * handler directly).
 */
export function currentCall(): ObservedCall | undefined {
  return scope.getStore();
}

/** One call Berth makes to an instance for the observed call. */
export interface Hop {
  /** `traceparent` (and `tracestate`) for the instance's request. */
  headers: Record<string, string>;
  /** Ends the hop's span, if one is recorded; `error` marks it failed. */
  end(error?: unknown): void;
}

/**
 * What one call was, as the access log and its span tell it. The listener
 * makes it when the call arrives and ends it (through {@link Observability})
 * when the answer is out; in between, whoever learns something notes it.
 */
export class ObservedCall {
  readonly startedAt = performance.now();
  /** The gRPC method (`/package.Service/Method`), for gRPC calls and REST calls transcoded to one. */
  method?: string;
  /** The HTTP method and path the caller sent (HTTP listener and node API). */
  httpMethod?: string;
  path?: string;
  /** The route template that matched (`/v1/nodes/{node_id}:execute`). */
  route?: string;
  protocol?: string;
  nodeId?: string;
  aliasId?: string;
  aliasName?: string;
  instanceId?: string;
  principalId?: string;
  principalName?: string;
  /** The gRPC code of the answer, when the call has one. */
  code?: number;
  /** Why the call was refused, when it was. */
  message?: string;
  httpStatus?: number;
  bytesIn?: number;
  bytesOut?: number;
  ended = false;

  constructor(
    readonly listener: Listener,
    readonly requestId: string,
    private readonly tracing: Tracing,
    /** What is handed on to instances: the call's span when recorded, else the caller's own context, if it sent one. */
    readonly trace: Context | undefined,
    readonly span: Span | undefined,
  ) {}

  /** Runs `fn` (and everything it awaits) as part of this call. */
  run<T>(fn: () => T): T {
    return scope.run(this, fn);
  }

  noteCaller(caller: Caller): void {
    this.principalId = caller.principal.id || undefined;
    this.principalName = caller.principal.name;
  }

  /** The node or alias a request names (`node_id`, `alias_id`, `alias_name`), as the control plane's requests spell them. */
  noteSubject(request: unknown): void {
    if (request === null || typeof request !== 'object') return;
    const { nodeId, aliasId, aliasName } = request as Record<string, unknown>;
    if (typeof nodeId === 'string' && nodeId !== '') this.nodeId ??= nodeId;
    if (typeof aliasId === 'string' && aliasId !== '') this.aliasId ??= aliasId;
    if (typeof aliasName === 'string' && aliasName !== '') this.aliasName ??= aliasName;
  }

  noteOutcome(code: number, message?: string): void {
    this.code = code;
    this.message = message;
  }

  /**
   * A call to an instance on this call's behalf: a client span under the
   * call's span when spans are recorded, and the headers that carry the
   * trace to the instance. Undefined when there is no trace to hand on.
   */
  hop(name: string, attributes: Attributes): Hop | undefined {
    const started = this.tracing.start(name, SpanKind.CLIENT, this.trace, attributes);
    const context = started?.context ?? this.trace;
    if (context === undefined) return undefined;
    return {
      headers: traceHeaders(context),
      end: (error?: unknown) => {
        if (started === undefined) return;
        if (error !== undefined) {
          started.span.recordException(error instanceof Error ? error : String(error));
          started.span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        }
        started.span.end();
      },
    };
  }
}
