import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { metadataOf } from './iam';

/** A client of a checkpoint node's own gRPC service, made from its `.proto` as any user's stubs are. */
export interface TypedClient {
  /** The service's full name, `berth.nodes.<folder>.<node>.v1.<Name>Service`. */
  service: string;
  execute(request: Record<string, unknown>, headers?: Record<string, string>): Promise<Record<string, unknown>>;
  close(): void;
}

/**
 * Loads a node's typed API from the text of its `.proto` (GET /v1/nodes/{id}/api.proto)
 * and connects a client of it to `address`.
 */
export function typedClient(address: string, protoText: string, service: string): TypedClient {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-typed-'));
  try {
    const file = path.join(dir, 'node.proto');
    writeFileSync(file, protoText);
    const pkg = grpc.loadPackageDefinition(loadSync(file, { keepCase: true, longs: Number, defaults: true })) as any;
    const Ctor = service.split('.').reduce((o, part) => o?.[part], pkg) as typeof grpc.Client | undefined;
    if (!Ctor) throw new Error(`${service} is not in the node's .proto`);
    const client = new Ctor(address, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>;
    return {
      service,
      execute: (request, headers = {}) =>
        new Promise((resolve, reject) => client.Execute(request, metadataOf(headers), (err: grpc.ServiceError | null, res: any) => (err ? reject(err) : resolve(res)))),
      close: () => client.close(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
