import type { SecureContext } from 'node:tls';
import {
  Metadata,
  ResponderBuilder,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as Code,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { BrowserPolicy, type BrowserPolicyOptions } from '../gateway/browser-policy';
import { DEFAULT_CONNECTION_TIMEOUTS, type ConnectionTimeouts } from '../gateway/connection-timeouts';
import type { Logger } from '../logger';
import type { Observability } from '../observability/observability';
import { grpcImplementation, serverDefinition, type MethodTable } from './adapter';
import { createGrpcListener } from './grpc-listener';
import { ServiceHealth } from './service-health';

export interface GrpcServerOptions {
  /** Largest request and response, in bytes. */
  maxMessageBytes: number;
  /**
   * Head-read limit (the HTTP/2 preface and SETTINGS, from the accept) and
   * idle limit (no open stream) of callers' connections; default 10 s and 65 s.
   */
  timeouts?: ConnectionTimeouts;
  /** Host names accepted in `:authority` besides loopback ones (see `gateway/browser-policy.ts`). */
  browser?: BrowserPolicyOptions;
  /** Serve TLS with this certificate and key (cleartext HTTP/2 without). */
  tls?: SecureContext;
  /** The access log and traces of the calls. */
  observability?: Observability;
}

export interface GrpcServer {
  server: Server;
  health: ServiceHealth;
  listen(host: string, port: number): Promise<number>;
  /** Stops taking calls, lets calls in flight finish for up to `graceMs`, then cancels the rest. */
  close(graceMs: number): Promise<void>;
}

/**
 * Refuses (PERMISSION_DENIED) every call, on every service (health,
 * reflection and the typed services included), whose `:authority` the host
 * rule refuses. Browsers cannot speak gRPC; the rule holds here so that the
 * three listeners answer alike.
 */
function hostRule(policy: () => BrowserPolicy): ServerInterceptor {
  return (_method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const refusal = policy().hostRefusal(call.getHost());
        if (refusal === undefined) next(metadata);
        else call.sendStatus({ code: Code.PERMISSION_DENIED, details: refusal, metadata: new Metadata() });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
}

/**
 * The gRPC listener: the control-plane services (through the method table)
 * and grpc.health.v1 (NOT_SERVING until the caller says the database is
 * ready). Reflection is added by TypedApis, which knows every service served.
 * The port is Berth's own (see `grpc-listener.ts`), so that slow or silent
 * connections are closed.
 */
export function createGrpcServer(table: MethodTable, services: ServiceDefinition[], log: Logger, options: GrpcServerOptions): GrpcServer {
  const timeouts = options.timeouts ?? DEFAULT_CONNECTION_TIMEOUTS;
  // Replaced by listen(): the host rule depends on the address bound.
  let browser = new BrowserPolicy(options.browser ?? {}, '127.0.0.1');
  const server = new Server({
    interceptors: [hostRule(() => browser)],
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
    // GOAWAY to a connection without an open stream for this long; a stream open, however long, is not idle.
    ...(timeouts.idleTimeoutMs > 0 ? { 'grpc.max_connection_idle_ms': timeouts.idleTimeoutMs } : {}),
  });
  for (const definition of services) server.addService(serverDefinition(definition), grpcImplementation(table, definition, log, options.observability));
  const health = new ServiceHealth({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const listener = createGrpcListener(server, timeouts.headerTimeoutMs, options.tls);
  return {
    server,
    health,
    listen: (host, port) => {
      browser = new BrowserPolicy(options.browser ?? {}, host);
      return listener.listen(host, port);
    },
    close: (graceMs) =>
      new Promise((resolve) => {
        listener.close();
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
