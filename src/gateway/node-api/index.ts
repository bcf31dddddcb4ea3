/**
 * The node API: Berth's data plane for Docker nodes. The rest of Berth needs
 * only the server factory, the resolver contract it must implement, and the
 * error type a resolver throws.
 */

export {
  createNodeApiServer,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_NODE_API_PORT,
  type NodeApiServer,
  type NodeApiServerOptions,
} from './node-api-server';
export {
  NodeApiError,
  type Backend,
  type NodeApiResolver,
  type NodeApiRoute,
  type ResolvedTarget,
  type ResolvingCall,
} from './resolver';
export { GrpcCode } from './grpc-status';
export type { NodeApiLogger } from './logger';
export type { NodeApiCallEvent, NodeApiMetrics } from './node-api-metrics';
