/**
 * Hooks through which the node API reports its calls. The proxy does not
 * own a metrics registry: whoever wires Berth turns these events into the
 * `node_requests`, `node_http_codes`, `node_grpc_codes` and
 * `node_request_durations` series (and their `alias_` twins). When no hook is
 * given, nothing is measured and no event object is built.
 */

/** One finished call through the node API. */
export interface NodeApiCallEvent {
  /** The node that served it; absent when routing failed before a node was known. */
  nodeId?: string;
  /** The alias the caller addressed, when it used `x-node-alias`. */
  aliasName?: string;
  /** The instance of the last attempt, if any was tried. */
  instanceId?: string;
  protocol: 'http1' | 'http2';
  grpc: boolean;
  /** The HTTP status the caller got (200 for gRPC errors, which travel in `grpc-status`). */
  httpStatus: number;
  /** The gRPC status the caller got, when it was a gRPC call and one was seen. */
  grpcStatus?: number;
  /** Instances tried: 2 when the call was resent after a failed attempt. */
  attempts: number;
  durationMs: number;
}

export interface NodeApiMetrics {
  /** Called once per call, when the caller's side of it is closed. Must not throw. */
  onCallEnd?(event: NodeApiCallEvent): void;
}
