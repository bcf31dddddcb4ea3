import { randomUUID } from 'node:crypto';
import {
  Metadata,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status as Code,
} from '@grpc/grpc-js';
import type { Logger } from '../logger';
import { StatusError, toServiceError, toStatusError } from './status';

/** What a handler gets besides its request. */
export interface CallContext {
  requestId: string;
  log: Logger;
  /** Aborted when the caller goes away or its deadline passes. */
  signal: AbortSignal;
  /** The caller's metadata (gRPC metadata, or HTTP headers for REST calls). */
  headers: Record<string, string>;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;

/** A service's handlers, typed from its ts-proto service definition. */
export type ServiceHandlers<D extends ServiceDefinition> = {
  [K in keyof D]: D[K] extends MethodDefinition<infer Req, infer Res> ? UnaryHandler<Req, Res> : never;
};

export interface BoundMethod {
  /** `/package.Service/Method` */
  path: string;
  definition: MethodDefinition<unknown, unknown>;
  handler: UnaryHandler<unknown, unknown>;
}

/**
 * Every unary method Berth serves, by gRPC path. The gRPC server and the REST
 * transcoder both dispatch through it, so a method behaves the same on both.
 */
export class MethodTable {
  readonly byPath = new Map<string, BoundMethod>();

  add<D extends ServiceDefinition>(definition: D, handlers: ServiceHandlers<D>): this {
    for (const key of Object.keys(definition)) {
      const def = definition[key] as MethodDefinition<unknown, unknown>;
      const handler = (handlers as Record<string, UnaryHandler<unknown, unknown>>)[key];
      if (!handler) throw new Error(`no handler for ${def.path}`);
      this.byPath.set(def.path, { path: def.path, definition: def, handler });
    }
    return this;
  }

  get(path: string): BoundMethod | undefined {
    return this.byPath.get(path);
  }
}

/**
 * The single chokepoint for errors: runs a handler, turns what it throws into
 * a StatusError, and logs an unexpected error once, with the request id.
 */
export async function invoke(method: BoundMethod, request: unknown, ctx: CallContext): Promise<unknown> {
  const started = process.hrtime.bigint();
  try {
    const response = await method.handler(request, ctx);
    ctx.log.debug({ method: method.path, ms: Number(process.hrtime.bigint() - started) / 1e6 }, 'call ok');
    return response;
  } catch (err) {
    const status = toStatusError(err);
    if (status.code === Code.INTERNAL && !(err instanceof StatusError)) ctx.log.error({ err, method: method.path }, 'call failed');
    else ctx.log.info({ method: method.path, code: Code[status.code], message: status.message }, 'call refused');
    throw status;
  }
}

export function requestIdOf(value: string | undefined): string {
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID();
}

function headersOf(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') out[key] = value;
  return out;
}

/** grpc-js implementations of every method of a service, through {@link invoke}. */
export function grpcImplementation(table: MethodTable, definition: ServiceDefinition, log: Logger): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  for (const key of Object.keys(definition)) {
    const method = table.get(definition[key]!.path)!;
    impl[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const headers = headersOf(call.metadata);
      const requestId = requestIdOf(headers['x-request-id']);
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      const out = new Metadata();
      out.set('x-request-id', requestId);
      call.sendMetadata(out);
      const ctx: CallContext = { requestId, log: log.child({ requestId }), signal: controller.signal, headers };
      invoke(method, call.request, ctx).then(
        (response) => callback(null, response),
        (err: StatusError) => callback(toServiceError(err)),
      );
    };
  }
  return impl;
}
