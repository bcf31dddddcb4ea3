import type { SecureContext } from 'node:tls';
import { Server, type ServiceDefinition } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { DEFAULT_CONNECTION_TIMEOUTS, type ConnectionTimeouts } from '../gateway/connection-timeouts';
import type { Logger } from '../logger';
import { grpcImplementation, serverDefinition, type MethodTable } from './adapter';
import { createGrpcListener } from './grpc-listener';

export interface GrpcServerOptions {
  /** Largest request and response, in bytes. */
  maxMessageBytes: number;
  /**
   * Head-read limit (the HTTP/2 preface and SETTINGS, from the accept) and
   * idle limit (no open stream) of callers' connections; default 10 s and 65 s.
   */
  timeouts?: ConnectionTimeouts;
  /** Serve TLS with this certificate and key (cleartext HTTP/2 without). */
  tls?: SecureContext;
}

export interface GrpcServer {
  server: Server;
  health: HealthImplementation;
  listen(host: string, port: number): Promise<number>;
  /** Stops taking calls, lets calls in flight finish for up to `graceMs`, then cancels the rest. */
  close(graceMs: number): Promise<void>;
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
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
    // GOAWAY to a connection without an open stream for this long; a stream open, however long, is not idle.
    ...(timeouts.idleTimeoutMs > 0 ? { 'grpc.max_connection_idle_ms': timeouts.idleTimeoutMs } : {}),
  });
  for (const definition of services) server.addService(serverDefinition(definition), grpcImplementation(table, definition, log));
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const listener = createGrpcListener(server, timeouts.headerTimeoutMs, options.tls);
  return {
    server,
    health,
    listen: (host, port) => listener.listen(host, port),
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
