/**
 * Typed domain errors. Each carries the ids it concerns so that one table in
 * `src/api/status.ts` can map it to a gRPC code and structured details.
 */

/** One invalid field of a request, with the field path as the caller wrote it. */
export interface FieldViolation {
  field: string;
  description: string;
}

/**
 * A caller's value as it appears in an error message: quoted and cut short,
 * so a 16 MiB field does not come back twice in the answer (and the log).
 */
export function quoted(value: string, max = 64): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

export abstract class DomainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request or spec that is wrong in itself → INVALID_ARGUMENT with field violations. */
export class ValidationError extends DomainError {
  constructor(readonly violations: FieldViolation[]) {
    super(
      violations.length === 1
        ? `${violations[0]!.field}: ${violations[0]!.description}`
        : `invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join('; ')}`,
    );
  }

  static of(field: string, description: string): ValidationError {
    return new ValidationError([{ field, description }]);
  }
}

/**
 * A request body in a format Berth does not take (only JSON, said so by its
 * `content-type`) → INVALID_ARGUMENT naming `content-type`, HTTP 415.
 */
export class UnsupportedMediaTypeError extends ValidationError {
  constructor(description: string) {
    super([{ field: 'content-type', description }]);
  }
}

export type ResourceKind = 'folder' | 'node' | 'alias' | 'checkpoint' | 'operation' | 'instance' | 'principal' | 'key' | 'secret';


/** → NOT_FOUND. `field` names the request field that held the unknown id. */
export class NotFoundError extends DomainError {
  constructor(
    readonly kind: ResourceKind,
    readonly id: string,
    readonly field?: string,
  ) {
    super(`${kind} ${quoted(id)} not found`);
  }
}

/** A name already taken in its scope → ALREADY_EXISTS. */
export class AlreadyExistsError extends DomainError {
  constructor(
    readonly kind: ResourceKind,
    readonly resourceName: string,
    readonly scope: string,
  ) {
    super(`${kind} named ${quoted(resourceName)} already exists in ${scope}`);
  }
}

/** The resource is in the wrong state for the request → FAILED_PRECONDITION. */
export class FailedPreconditionError extends DomainError {
  constructor(
    message: string,
    readonly subject: string,
    readonly type = 'STATE',
  ) {
    super(message);
  }
}

/** A conditional write lost: stale etag or a concurrent writer → ABORTED. */
export class ConflictError extends DomainError {
  constructor(
    readonly kind: ResourceKind,
    readonly id: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind} ${quoted(id)} ${reason}; read it again and retry`, options);
  }
}

/** A quota or size limit → RESOURCE_EXHAUSTED. */
export class QuotaExceededError extends DomainError {
  constructor(
    message: string,
    readonly subject: string,
    /** For a rate limit: when a retry may pass, in whole seconds (HTTP `retry-after`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A dependency (engine, database, instance) is down → UNAVAILABLE. */
export class UnavailableError extends DomainError {
  /** When a retry is likely to pass, in whole seconds (HTTP and gRPC `retry-after`); e.g. a node that is waking. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** The operation was cancelled → CANCELLED. */
export class CancelledError extends DomainError {}

/** A deadline passed → DEADLINE_EXCEEDED. */
export class DeadlineExceededError extends DomainError {}

/** No valid API key came with the call → UNAUTHENTICATED. */
export class UnauthenticatedError extends DomainError {}

/** The caller may not do this → PERMISSION_DENIED. */
export class PermissionDeniedError extends DomainError {}

/** User code of a checkpoint node raised → ABORTED with NodeExecutionErrorDetails. */
export class UserCodeError extends DomainError {
  constructor(
    readonly errorName: string,
    readonly errorMessage: string,
    readonly traceback: string[],
  ) {
    super(`user code raised ${errorName}: ${errorMessage}`);
  }
}
