import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from '../logger';
import { grpcImplementation, serverDefinition, type MethodTable } from './adapter';

export interface GrpcServerOptions {
  /** Largest request and response, in bytes. */
  maxMessageBytes: number;
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
 */
export function createGrpcServer(table: MethodTable, services: ServiceDefinition[], log: Logger, options: GrpcServerOptions): GrpcServer {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
  });
  for (const definition of services) server.addService(serverDefinition(definition), grpcImplementation(table, definition, log));
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  return {
    server,
    health,
    listen: (host, port) =>
      new Promise((resolve, reject) =>
        server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
      ),
    close: (graceMs) =>
      new Promise((resolve) => {
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
