import {
  Metadata,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status as Code,
} from '@grpc/grpc-js';
import type { DescMessage } from '@bufbuild/protobuf';
import type { Caller } from '../domain/access';
import { PermissionDeniedError } from '../domain/errors';
import type { Logger } from '../logger';
import { descriptors } from './descriptors';
import { currentCall } from '../observability/observed-call';
import { requestIdOf } from '../observability/request-id';
import type { Observability } from '../observability/observability';
import { MalformedRequest, withSafeDeserializers } from './request-decoding';
import { checkRequestText } from './request-text';
import { StatusError, toServiceError, toStatusError } from './status';
import { runInCallScope, type CallObserver, type CallScope } from '../observability/call-scope';

/** Every listener takes its request id the same way (the node API too, outside this module). */
export { requestIdOf };

/** What a handler gets besides its request. */
export interface CallContext {
  requestId: string;
  log: Logger;
  /** Aborted when the caller goes away or its deadline passes. */
  signal: AbortSignal;
  /** The caller's metadata (gRPC metadata, or HTTP headers for REST calls). */
  headers: Record<string, string>;
  /** Who calls: set by {@link runMethod} once the call's key is verified. */
  caller?: Caller;
  /** The caller's protocol, for metrics: a gRPC code or an HTTP status is what it got. */
  transport?: 'grpc' | 'http';
  /** Told of the call's end (control-plane methods; the data plane adds its own once a node is known). */
  observer?: CallObserver;
  /**
   * A streaming handler calls this once it has accepted the request, before
   * its first message may be long in coming: a REST stream then answers 200
   * at once, while a refusal before it still gets its own HTTP status.
   */
  opened?: () => void;
}

/**
 * Who may call what, asked once per call at the chokepoint before any
 * handler runs: first who the caller is (UNAUTHENTICATED without a valid
 * key), then whether it may make this call (PERMISSION_DENIED, or NOT_FOUND
 * for what it may not see).
 */
export interface Guardian {
  callerOf(headers: Record<string, string>): Caller | Promise<Caller>;
  check(path: string, request: unknown, caller: Caller): Promise<void>;
  /**
   * Records the outcome of a call that passed authentication (writes only:
   * the guardian knows which methods write). Awaited before the answer, so
   * that an audited write is never answered without its record.
   */
  record(path: string, request: unknown, outcome: { response?: unknown; error?: unknown }, ctx: CallContext & { caller: Caller }): Promise<void>;
}

/** Refuses everything: a table built without a guardian serves no one. */
const CLOSED: Guardian = {
  callerOf: () => {
    throw new PermissionDeniedError('this server has no access rules');
  },
  check: () => Promise.reject(new PermissionDeniedError('this server has no access rules')),
  record: () => Promise.resolve(),
};

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/**
 * A server-streaming method: sends its messages through `send` (which waits
 * while the caller reads slowly) and resolves when the stream is complete;
 * what it throws ends the stream with that status.
 */
export type StreamHandler<Req, Res> = (request: Req, ctx: CallContext, send: (message: Res) => Promise<void>) => Promise<void>;

/** A service's handlers, typed from its ts-proto service definition. */
export type ServiceHandlers<D extends ServiceDefinition> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer Res>
    ? D[K] extends { responseStream: true }
      ? StreamHandler<Req, Res>
      : UnaryHandler<Req, Res>
    : never;
};

export interface BoundMethod {
  /** `/package.Service/Method` */
  path: string;
  definition: MethodDefinition<unknown, unknown>;
  /** The request message's descriptor: requests are checked and located against it. */
  input: DescMessage;
  handler: UnaryHandler<unknown, unknown> | StreamHandler<unknown, unknown>;
  /** Server streaming: the handler is a {@link StreamHandler}. */
  streaming: boolean;
  guardian: Guardian;
  /** Told of every call of the method (metrics). */
  observer?: CallObserver;
}

/** The descriptor of a method's request message, from its gRPC path. */
function inputOf(path: string): DescMessage {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  const desc = service ? descriptors().registry.getService(service)?.methods.find((m) => m.name === method)?.input : undefined;
  if (!desc) throw new Error(`no descriptor for ${path} in gen/berth.binpb`);
  return desc;
}

/**
 * Every unary method Berth serves, by gRPC path. The gRPC server and the REST
 * transcoder both dispatch through it, so a method behaves the same on both.
 */
export class MethodTable {
  readonly byPath = new Map<string, BoundMethod>();

  constructor(
    private readonly guardian: Guardian = CLOSED,
    private readonly observer?: CallObserver,
  ) {}

  add<D extends ServiceDefinition>(definition: D, handlers: ServiceHandlers<D>): this {
    for (const key of Object.keys(definition)) {
      const def = definition[key] as MethodDefinition<unknown, unknown>;
      const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[key];
      if (!handler) throw new Error(`no handler for ${def.path}`);
      this.byPath.set(def.path, { path: def.path, definition: def, input: inputOf(def.path), handler, streaming: def.responseStream, guardian: this.guardian, observer: this.observer });
    }
    return this;
  }

  get(path: string): BoundMethod | undefined {
    return this.byPath.get(path);
  }
}

/**
 * The single chokepoint for errors: runs one call of any entry point (a gRPC
 * method, a REST route from body reading to encoding, a typed route), turns
 * what it throws into a StatusError, and logs an unexpected error once, with
 * its stack and the request id (the context's logger carries it). The
 * outcome goes to the call's access line (see `observability/`).
 */
export async function guard<T>(label: string, ctx: CallContext, run: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const scope: CallScope = { transport: ctx.transport, observer: ctx.observer };
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  // The call's access line tells its outcome; a call outside a listener logs its refusals itself.
  const observed = currentCall();
  try {
    const response = await runInCallScope(scope, run);
    observed?.noteOutcome(Code.OK);
    scope.observer?.callEnded(label, scope, undefined, seconds());
    return response;
  } catch (err) {
    const status = toStatusError(err);
    observed?.noteOutcome(status.code, status.message);
    if (status.code === Code.INTERNAL && !(err instanceof StatusError)) ctx.log.error({ err, method: label }, 'call failed');
    else if (observed === undefined) ctx.log.info({ method: label, code: Code[status.code], message: status.message }, 'call refused');
    scope.observer?.callEnded(label, scope, status, seconds());
    throw status;
  }
}

/**
 * Runs a method's handler on a decoded request, after the checks every
 * request gets: who calls (before anything of the request is looked at),
 * decodable, every string valid text, the shared field limits, and whether
 * this caller may make this call. Callers run it inside {@link guard}. A
 * streaming method sends through `send` and answers undefined.
 */
export async function runMethod(method: BoundMethod, request: unknown, ctx: CallContext, send?: (message: unknown) => Promise<void>): Promise<unknown> {
  const caller = (ctx.caller ??= await method.guardian.callerOf(ctx.headers));
  currentCall()?.noteSubject(request);
  const audited = { ...ctx, caller };
  let response: unknown;
  try {
    if (request instanceof MalformedRequest) throw request.error;
    checkRequestText(method.input, request);
    await method.guardian.check(method.path, request, caller);
    if (method.streaming) {
      if (!send) throw new Error(`${method.path} streams its answer and was called without a sink`);
      await (method.handler as StreamHandler<unknown, unknown>)(request, ctx, send);
    } else {
      response = await (method.handler as UnaryHandler<unknown, unknown>)(request, ctx);
    }
  } catch (error) {
    await method.guardian.record(method.path, request instanceof MalformedRequest ? {} : request, { error }, audited);
    throw error;
  }
  await method.guardian.record(method.path, request, { response }, audited);
  return response;
}

/** One gRPC call of a method, through {@link guard}. */
function invoke(method: BoundMethod, request: unknown, ctx: CallContext, send?: (message: unknown) => Promise<void>): Promise<unknown> {
  return guard(method.path, ctx, () => runMethod(method, request, ctx, send));
}

/** Writes one message of a server stream, waiting for the caller to read when its buffer is full. */
function sender(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): (message: unknown) => Promise<void> {
  return async (message) => {
    if (signal.aborted) throw new StatusError(Code.CANCELLED, 'the caller went away');
    if (call.write(message)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        call.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      call.on('drain', done);
      signal.addEventListener('abort', done);
    });
  };
}

/** A service definition for the server: requests that cannot be decoded reach the adapter. */
export function serverDefinition(definition: ServiceDefinition): ServiceDefinition {
  return withSafeDeserializers(definition, inputOf);
}

/** A call's metadata as headers (binary values left out). */
export function headersOf(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') out[key] = value;
  return out;
}

/** grpc-js implementations of every method of a service, through {@link invoke}. */
export function grpcImplementation(table: MethodTable, definition: ServiceDefinition, log: Logger, observability?: Observability): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const key of Object.keys(definition)) {
    const method = table.get(definition[key]!.path)!;
    /** What every call starts with: its request id (sent back at once), cancellation and context. */
    const begin = (call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): CallContext => {
      const headers = headersOf(call.metadata);
      const requestId = requestIdOf(headers['x-request-id']);
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const out = new Metadata();
      out.set('x-request-id', requestId);
      call.sendMetadata(out);
      return { requestId, log: log.child({ requestId }), signal: controller.signal, headers, transport: 'grpc', observer: method.observer };
    };
    if (method.streaming) {
      impl[key] = (call: ServerWritableStream<unknown, unknown>) => {
        const ctx = begin(call);
        invoke(method, call.request, ctx, sender(call, ctx.signal)).then(
          () => call.end(),
          (err: StatusError) => call.emit('error', toServiceError(err)),
        );
      };
      continue;
    }
    impl[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const ctx = begin(call);
      observeUnary(observability, ctx.requestId, ctx.headers, method.path, callback, () => invoke(method, call.request, ctx));
    };
  }
  return impl;
}

/**
 * Runs one unary gRPC call as an observed call (its access line and span)
 * and answers it; an error's trailers carry the request id, as its initial
 * metadata did.
 */
export function observeUnary(
  observability: Observability | undefined,
  requestId: string,
  headers: Record<string, string>,
  path: string,
  callback: sendUnaryData<unknown>,
  run: () => Promise<unknown>,
): void {
  const observed = observability?.begin('grpc', requestId, headers, { method: path, protocol: 'grpc' });
  (observed ? observed.run(run) : run()).then(
    (response) => {
      callback(null, response);
      if (observed) observability!.end(observed);
    },
    (err: StatusError) => {
      const error = toServiceError(err);
      error.metadata!.set('x-request-id', requestId);
      callback(error);
      if (observed) observability!.end(observed);
    },
  );
}
