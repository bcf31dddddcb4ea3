import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const reflectionPackage = grpc.loadPackageDefinition(
  loadSync(require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }),
) as any;

/**
 * Sends server reflection (v1) requests on one stream, as grpcurl does, and
 * collects one answer each; `metadata` goes with the stream (grpcurl's `-H`).
 */
export async function reflect(address: string, requests: object[], metadata: grpc.Metadata = new grpc.Metadata()): Promise<any[]> {
  const client: grpc.Client & { ServerReflectionInfo(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, any> } =
    new reflectionPackage.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const answers: any[] = [];
      const call = client.ServerReflectionInfo(metadata);
      call.on('data', (d: any) => {
        answers.push(d);
        if (answers.length === requests.length) call.end();
      });
      call.on('error', reject);
      call.on('end', () => resolve(answers));
      for (const r of requests) call.write(r);
    });
  } finally {
    client.close();
  }
}

/** The service names of a list_services answer. */
export const servicesOf = (listed: any): string[] => listed.list_services_response.service.map((s: { name: string }) => s.name);
