/**
 * Berth's TypeScript client: `connect()` opens one channel to a Berth gRPC
 * port and returns the ts-proto clients of every `berth.v1` service on it,
 * each call carrying the API key. The messages are the generated ones, re-exported
 * here, so that `berth/client` is the only import a program needs.
 */
export { connect, type BerthClient, type ConnectOptions, type TlsOptions } from './connect';
export { call } from './call';
export { Metadata, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';

export * from '../../gen/berth/v1/alias';
export * from '../../gen/berth/v1/alias_service';
export * from '../../gen/berth/v1/audit';
export * from '../../gen/berth/v1/audit_service';
export * from '../../gen/berth/v1/checkpoint';
export * from '../../gen/berth/v1/checkpoint_service';
export * from '../../gen/berth/v1/folder';
export * from '../../gen/berth/v1/folder_service';
export * from '../../gen/berth/v1/iam';
export * from '../../gen/berth/v1/iam_service';
export * from '../../gen/berth/v1/node';
export * from '../../gen/berth/v1/node_service';
export * from '../../gen/berth/v1/operation';
export * from '../../gen/berth/v1/operation_service';
export * from '../../gen/berth/v1/secret';
export * from '../../gen/berth/v1/secret_service';
export * from '../../gen/berth/v1/usage_service';
