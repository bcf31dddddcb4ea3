/**
 * The seam between the node-API proxy and the rest of Berth. The proxy knows
 * nothing about folders, aliases, ACLs or instance health: for each call it
 * asks a resolver where to go, and tells it when an instance could not be
 * reached. The control plane supplies the real resolver (backed by the
 * supervisor's view of healthy instances); tests supply a Map.
 */

import { httpStatusForCode } from '../../api/status';
import { GrpcCode } from './grpc-status';

/** One healthy instance, as a place to send a call. */
export interface Backend {
  instanceId: string;
  host: string;
  port: number;
}

/** Where a call goes, and under which limits. */
export interface ResolvedTarget {
  nodeId: string;
  /** `grpc` upstreams always speak h2c; `http` upstreams are called over HTTP/1.1. */
  endpointType: 'http' | 'grpc';
  /** The whole call, from routing to the last byte of the response; 0 = none. */
  timeoutMs: number;
  /** Longest time with no byte moving either way on the upstream leg; 0 = none. */
  idleTimeoutMs: number;
  /** Healthy instances right now. */
  backends: Backend[];
}

/** The routing headers of one call, already read from `x-node-id`, `x-node-alias`, `x-folder-id` and `authorization`. */
export interface NodeApiRoute {
  nodeId?: string;
  aliasName?: string;
  folderId?: string;
  authorization?: string;
}

/** The call being resolved, for a resolver that may make it wait (a sleeping node wakes): told when its caller left. */
export interface ResolvingCall {
  /** Calls `listener` once when the caller goes away before the call ends. */
  onGone(listener: () => void): void;
}

/**
 * Answers "which node, which instances" for a call. Resolution runs on every
 * call, so implementations should answer from memory (a synchronous return
 * avoids a promise per call); a promise is accepted for resolvers that must
 * look something up.
 */
export interface NodeApiResolver {
  /** Throws (or rejects with) a {@link NodeApiError} with code NOT_FOUND / INVALID_ARGUMENT / PERMISSION_DENIED … */
  resolve(route: NodeApiRoute, call?: ResolvingCall): Promise<ResolvedTarget> | ResolvedTarget;
  /**
   * Called when an instance refused or dropped a connection, so the
   * supervisor can take it out of balancing at once instead of waiting for
   * its next failed health check.
   */
  reportFailure?(nodeId: string, instanceId: string, error: Error): void;
}

/**
 * A refusal of a node-API call, carrying the gRPC code that gRPC callers get
 * in `grpc-status`; HTTP callers get the matching HTTP status from the one
 * status table (or `httpStatus` when a more precise one exists, such as 413
 * for a body over the limit) and grpc-gateway's JSON body
 * `{"code", "message", "details"}`.
 */
export class NodeApiError extends Error {
  override readonly name = 'NodeApiError';
  /** The HTTP status for HTTP callers. */
  readonly httpStatus: number;

  constructor(
    readonly code: number,
    message: string,
    httpStatus?: number,
    options?: { cause?: unknown; retryAfterSeconds?: number; details?: readonly unknown[] },
  ) {
    super(message, options);
    this.httpStatus = httpStatus ?? httpStatusForCode(code);
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.details = options?.details ?? [];
  }

  /** google.rpc.Status details in proto3 JSON (each with its `@type`), as HTTP callers get them. */
  readonly details: readonly unknown[];

  /** A rate limit's wait: sent as `retry-after` to every caller. */
  readonly retryAfterSeconds?: number;
}

export { GrpcCode };
