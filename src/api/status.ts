import { create, toBinary, toJson, type DescMessage, type JsonObject, type Message, type Registry } from '@bufbuild/protobuf';
import { anyPack, type Any } from '@bufbuild/protobuf/wkt';
import { status as Code, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  AlreadyExistsError,
  CancelledError,
  ConflictError,
  DeadlineExceededError,
  FailedPreconditionError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  QuotaExceededError,
  UnavailableError,
  UnsupportedMediaTypeError,
  UserCodeError,
  ValidationError,
} from '../domain/errors';
import { descriptors } from './descriptors';

/** A gRPC status with google.rpc details, ready for both the gRPC and the REST answer. */
export class StatusError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly details: Any[] = [],
    /** An HTTP status that says more than the code's usual one (e.g. 413 for a size limit). */
    readonly httpStatus?: number,
    /** A rate limit's wait before a retry may pass: HTTP `retry-after`, gRPC `retry-after` metadata and RetryInfo. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

function detail(typeName: string, init: Record<string, unknown>): Any {
  const desc = descriptors().registry.getMessage(typeName) as DescMessage | undefined;
  if (!desc) throw new Error(`descriptor ${typeName} missing from gen/berth.binpb`);
  return anyPack(desc, create(desc, init as never) as Message);
}

/**
 * The one table from domain errors to gRPC codes. Anything unknown becomes
 * INTERNAL with a generic message; the caller logs the original once.
 */
export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof ValidationError)
    return new StatusError(
      Code.INVALID_ARGUMENT,
      err.message,
      [detail('google.rpc.BadRequest', { fieldViolations: err.violations.map((v) => ({ field: v.field, description: v.description })) })],
      err instanceof UnsupportedMediaTypeError ? 415 : undefined,
    );
  if (err instanceof NotFoundError) {
    const details = [detail('google.rpc.ResourceInfo', { resourceType: `berth.v1.${err.kind}`, resourceName: err.id, description: err.message })];
    if (err.field) details.push(detail('google.rpc.BadRequest', { fieldViolations: [{ field: err.field, description: err.message }] }));
    return new StatusError(Code.NOT_FOUND, err.message, details);
  }
  if (err instanceof AlreadyExistsError)
    return new StatusError(Code.ALREADY_EXISTS, err.message, [
      detail('google.rpc.ResourceInfo', { resourceType: `berth.v1.${err.kind}`, resourceName: err.resourceName, description: err.message }),
    ]);
  if (err instanceof FailedPreconditionError)
    return new StatusError(Code.FAILED_PRECONDITION, err.message, [
      detail('google.rpc.PreconditionFailure', { violations: [{ type: err.type, subject: err.subject, description: err.message }] }),
    ]);
  if (err instanceof ConflictError) return new StatusError(Code.ABORTED, err.message);
  if (err instanceof QuotaExceededError) {
    const details = [detail('google.rpc.QuotaFailure', { violations: [{ subject: err.subject, description: err.message }] })];
    if (err.retryAfterSeconds !== undefined) details.push(detail('google.rpc.RetryInfo', { retryDelay: { seconds: BigInt(err.retryAfterSeconds), nanos: 0 } }));
    return new StatusError(
      Code.RESOURCE_EXHAUSTED,
      err.message,
      details,
      err.subject === 'request_size' || err.subject === 'response_size' ? 413 : undefined,
      err.retryAfterSeconds,
    );
  }
  if (err instanceof UnavailableError) {
    if (err.retryAfterSeconds === undefined) return new StatusError(Code.UNAVAILABLE, err.message);
    const retry = detail('google.rpc.RetryInfo', { retryDelay: { seconds: BigInt(err.retryAfterSeconds), nanos: 0 } });
    return new StatusError(Code.UNAVAILABLE, err.message, [retry], undefined, err.retryAfterSeconds);
  }
  if (err instanceof CancelledError) return new StatusError(Code.CANCELLED, err.message);
  if (err instanceof DeadlineExceededError) return new StatusError(Code.DEADLINE_EXCEEDED, err.message);
  if (err instanceof PermissionDeniedError) return new StatusError(Code.PERMISSION_DENIED, err.message);
  if (err instanceof UnauthenticatedError) return new StatusError(Code.UNAUTHENTICATED, err.message);
  if (err instanceof UserCodeError)
    return new StatusError(Code.ABORTED, err.message, [
      detail('berth.v1.NodeExecutionErrorDetails', { errorName: err.errorName, errorMessage: err.errorMessage, traceback: err.traceback }),
    ]);
  return new StatusError(Code.INTERNAL, 'internal error; see the server log for this request id');
}

/** Encodes a StatusError as a grpc-js ServiceError with `grpc-status-details-bin`. */
export function toServiceError(err: StatusError): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err.retryAfterSeconds !== undefined) metadata.set('retry-after', String(err.retryAfterSeconds));
  if (err.details.length > 0) {
    const desc = descriptors().registry.getMessage('google.rpc.Status')!;
    const status = create(desc, { code: err.code, message: err.message, details: err.details } as never);
    metadata.set('grpc-status-details-bin', Buffer.from(toBinary(desc, status as Message)));
  }
  return { code: err.code, details: err.message, metadata };
}

/**
 * A status as grpc-gateway's JSON error body: google.rpc.Status in proto3
 * JSON, `{"code", "message", "details"}`, each detail with its `@type`.
 */
export function statusJson(err: StatusError, registry: Registry = descriptors().registry): JsonObject {
  const desc = registry.getMessage('google.rpc.Status')!;
  const status = create(desc, { code: err.code, message: err.message, details: err.details } as never);
  return toJson(desc, status as Message, { registry, alwaysEmitImplicit: true }) as JsonObject;
}

/**
 * gRPC code → HTTP status, exactly as grpc-gateway v2's HTTPStatusFromCode
 * maps them (FAILED_PRECONDITION and OUT_OF_RANGE are 400, as there). The one
 * table for every HTTP answer Berth gives: the REST control plane, the typed
 * routes and the node API. Where an answer says more than its code, the
 * refusal carries its own HTTP status ({@link StatusError.httpStatus}): 413
 * for a body over the size limit, 415 for a body that is not JSON; both are
 * HTTP-level refusals that gRPC has no code for.
 */
const HTTP_STATUS: Record<number, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

/** The HTTP status of a gRPC code (500 for a number that is not one). */
export function httpStatusForCode(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The HTTP status of a refusal: its own when it has a more precise one (413, 415), else its code's. */
export function httpStatusOf(err: StatusError): number {
  return err.httpStatus ?? httpStatusForCode(err.code);
}
