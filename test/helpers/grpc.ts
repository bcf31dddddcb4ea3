import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import { AliasServiceClient } from '../../gen/berth/v1/alias_service';
import { CheckpointServiceClient } from '../../gen/berth/v1/checkpoint_service';
import { FolderServiceClient } from '../../gen/berth/v1/folder_service';
import { NodeServiceClient } from '../../gen/berth/v1/node_service';
import { OperationServiceClient } from '../../gen/berth/v1/operation_service';
import { SecretServiceClient } from '../../gen/berth/v1/secret_service';
import { descriptors } from '../../src/api/descriptors';

/** The generated ts-proto clients of every control-plane service. */
export function clients(address: string) {
  const creds = credentials.createInsecure();
  return {
    folders: new FolderServiceClient(address, creds),
    nodes: new NodeServiceClient(address, creds),
    aliases: new AliasServiceClient(address, creds),
    checkpoints: new CheckpointServiceClient(address, creds),
    operations: new OperationServiceClient(address, creds),
    secrets: new SecretServiceClient(address, creds),
    close() {
      for (const c of [this.folders, this.nodes, this.aliases, this.checkpoints, this.operations, this.secrets]) (c as Client).close();
    },
  };
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

/** Calls a unary method of a generated client and returns a promise. */
export function unary<Req, Res>(
  client: { [k: string]: any },
  method: string,
  request: Req,
  metadata: Metadata = new Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: Req, m: Metadata, cb: Callback<Res>) => void).call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** Decodes google.rpc.Status details from a gRPC error's trailers as proto3 JSON objects with @type. */
export function statusDetails(err: ServiceError): Array<{ typeName: string; value: any }> {
  const bin = err.metadata?.get('grpc-status-details-bin')?.[0];
  if (!bin) return [];
  const { registry } = descriptors();
  const desc = registry.getMessage('google.rpc.Status')!;
  const status = fromBinary(desc, bin as Buffer) as any;
  return (status.details as any[]).map((any) => {
    const value = anyUnpack(any, registry);
    return { typeName: any.typeUrl.split('/').pop(), value };
  });
}

/** Field paths of the BadRequest detail of a gRPC error. */
export function grpcViolations(err: ServiceError): string[] {
  const bad = statusDetails(err).find((d) => d.typeName === 'google.rpc.BadRequest');
  return (bad?.value.fieldViolations ?? []).map((v: any) => v.field as string);
}
