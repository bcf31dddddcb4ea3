import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';

/** The last overload of a ts-proto unary method: request, metadata, options, callback. */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** The names of `client`'s unary methods. */
type UnaryName<C> = { [K in keyof C]: C[K] extends UnaryMethod<any, any> ? K : never }[keyof C];
type RequestOf<F> = F extends UnaryMethod<infer Req, any> ? Req : never;
type ResponseOf<F> = F extends UnaryMethod<any, infer Res> ? Res : never;

/**
 * Calls a unary method of a generated client and settles with its response,
 * or rejects with the grpc-js `ServiceError` (its `code` is a `status`):
 * `await call(berth.folders, 'getFolder', { folderId })`. The ts-proto
 * clients themselves take callbacks.
 */
export function call<C extends object, K extends UnaryName<C>>(
  client: C,
  method: K,
  request: RequestOf<C[K]>,
  options: Partial<CallOptions> & { metadata?: Metadata } = {},
): Promise<ResponseOf<C[K]>> {
  const { metadata = new Metadata(), ...callOptions } = options;
  const fn = client[method] as UnaryMethod<RequestOf<C[K]>, ResponseOf<C[K]>>;
  return new Promise((resolve, reject) => {
    fn.call(client, request, metadata, callOptions, (err, res) => (err ? reject(err) : resolve(res)));
  });
}
