import { Channel, credentials, InterceptingCall, type ChannelCredentials, type ChannelOptions, type Client, type Interceptor } from '@grpc/grpc-js';
import { AliasServiceClient } from '../../gen/berth/v1/alias_service';
import { AuditServiceClient } from '../../gen/berth/v1/audit_service';
import { UsageServiceClient } from '../../gen/berth/v1/usage_service';
import { CheckpointServiceClient } from '../../gen/berth/v1/checkpoint_service';
import { FolderServiceClient } from '../../gen/berth/v1/folder_service';
import { IamServiceClient } from '../../gen/berth/v1/iam_service';
import { NodeServiceClient } from '../../gen/berth/v1/node_service';
import { OperationServiceClient } from '../../gen/berth/v1/operation_service';
import { SecretServiceClient } from '../../gen/berth/v1/secret_service';

/** PEM certificates, as text or bytes. */
type Pem = string | Buffer;

/** TLS towards Berth: the CA to trust (default: the system's) and, for mutual TLS, a client certificate and key. */
export interface TlsOptions {
  ca?: Pem;
  cert?: Pem;
  key?: Pem;
}

export interface ConnectOptions {
  /** `host:port` of Berth's gRPC listener, e.g. `127.0.0.1:50051`. */
  address: string;
  /** `true` or TLS options when Berth serves TLS (`--tls-cert`); cleartext when absent or false. */
  tls?: boolean | TlsOptions;
  /** A Berth API key (`berth_ak…`), sent as `authorization: Bearer <key>` on every call. */
  apiKey?: string;
  /** grpc-js channel options (keepalive, message sizes, …). */
  channelOptions?: ChannelOptions;
}

/** One generated client per `berth.v1` service, sharing one channel. */
export interface BerthClient {
  aliases: AliasServiceClient;
  audit: AuditServiceClient;
  checkpoints: CheckpointServiceClient;
  folders: FolderServiceClient;
  iam: IamServiceClient;
  nodes: NodeServiceClient;
  operations: OperationServiceClient;
  secrets: SecretServiceClient;
  usage: UsageServiceClient;
  /** Closes the channel; calls in flight end with CANCELLED. */
  close(): void;
}

function channelCredentials(tls: ConnectOptions['tls']): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  const bytes = (pem: Pem | undefined) => (typeof pem === 'string' ? Buffer.from(pem) : pem ?? null);
  return credentials.createSsl(bytes(tls.ca), bytes(tls.key), bytes(tls.cert));
}

/**
 * Adds the key to every call's metadata. An interceptor rather than call
 * credentials, which grpc-js refuses on a cleartext channel (Berth on
 * loopback needs no TLS).
 */
function bearer(apiKey: string): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('authorization', `Bearer ${apiKey}`);
        next(metadata, listener);
      },
    });
}

/**
 * Connects to Berth's gRPC port. Nothing is dialled until the first call;
 * the clients are grpc-js ones (callbacks), `call()` turns a call into a promise.
 */
export function connect(options: ConnectOptions): BerthClient {
  const creds = channelCredentials(options.tls);
  const channel = new Channel(options.address, creds, options.channelOptions ?? {});
  const clientOptions = { channelOverride: channel, interceptors: options.apiKey ? [bearer(options.apiKey)] : [] };
  const clients = {
    aliases: new AliasServiceClient(options.address, creds, clientOptions),
    audit: new AuditServiceClient(options.address, creds, clientOptions),
    checkpoints: new CheckpointServiceClient(options.address, creds, clientOptions),
    folders: new FolderServiceClient(options.address, creds, clientOptions),
    iam: new IamServiceClient(options.address, creds, clientOptions),
    nodes: new NodeServiceClient(options.address, creds, clientOptions),
    operations: new OperationServiceClient(options.address, creds, clientOptions),
    secrets: new SecretServiceClient(options.address, creds, clientOptions),
    usage: new UsageServiceClient(options.address, creds, clientOptions),
  };
  return {
    ...clients,
    close() {
      for (const client of Object.values(clients) as Client[]) client.close();
      channel.close();
    },
  };
}
