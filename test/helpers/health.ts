import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const HealthClient = makeGenericClientConstructor(healthService as never, 'grpc.health.v1.Health');

/**
 * Asks grpc.health.v1.Health/Check of the server at `address` for `service`
 * ('' is the whole server), as a load balancer or grpc_health_probe would;
 * resolves the status name or the gRPC error code.
 */
export function grpcHealth(address: string, service = '', timeoutMs = 5000): Promise<string | { code: number }> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (readyErr) => {
      if (readyErr) {
        client.close();
        return reject(readyErr);
      }
      (client as unknown as { check: (req: object, cb: (err: ServiceError | null, res: { status: string }) => void) => void }).check(
        { service },
        (err, res) => {
          client.close();
          if (err) resolve({ code: err.code });
          else resolve(res.status);
        },
      );
    });
  });
}
