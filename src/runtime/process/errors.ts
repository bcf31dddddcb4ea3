/**
 * Why the process runtime could not start an instance's program. Distinct
 * from a program that starts and then exits (that is an instance state, read
 * back by `listInstances`): here nothing runs at all, for example because the
 * program does not exist or the spec names none.
 */
export class ProcessStartError extends Error {
  constructor(
    readonly instanceId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`instance ${instanceId} could not be started: ${reason}`, options);
    this.name = 'ProcessStartError';
  }
}
