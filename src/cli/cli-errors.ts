import { status, type ServiceError } from '@grpc/grpc-js';

/**
 * The exit statuses of `berth` (README, "Exit codes"): scripts tell a
 * failed operation from a typo from a Berth they cannot reach.
 */
export const EXIT = {
  ok: 0,
  /** The request reached Berth and failed: an operation ended in error, a call raised, not found… */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
  /** Berth could not be reached, or refused the key. */
  unreachable: 3,
  /** Ctrl-C stopped the waiting (128 + SIGINT, as shells report it); the operation goes on. */
  interrupted: 130,
} as const;

/** A failure the user caused on the command line: exit 2. */
export class UsageError extends Error {}

/** A failure to report as it is, with this exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number' && 'metadata' in err;
}

/** Exit status and message of any error a command throws. */
export function describeError(err: unknown, server: string | undefined): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  if (isServiceError(err)) {
    const name = status[err.code] ?? String(err.code);
    const where = server ? ` (${server})` : '';
    if (err.code === status.UNAVAILABLE) {
      // grpc-js appends a note on name resolution that says nothing to a user.
      const why = err.details.replace(/\.?\s*Resolution note:.*$/s, '');
      return { code: EXIT.unreachable, message: `cannot reach Berth${where}: ${why}` };
    }
    if (err.code === status.UNAUTHENTICATED)
      return { code: EXIT.unreachable, message: `Berth${where} refused the key: ${err.details} (berth login --server ADDR --key-file FILE)` };
    if (err.code === status.DEADLINE_EXCEEDED) return { code: EXIT.unreachable, message: `Berth${where} did not answer in time: ${err.details}` };
    return { code: EXIT.failed, message: `${name}: ${err.details}` };
  }
  return { code: EXIT.failed, message: err instanceof Error ? err.message : String(err) };
}
