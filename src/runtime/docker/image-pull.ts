import type Dockerode from 'dockerode';
import type { RegistryAuth } from '../runtime';
import { translateEngineError } from './errors';

interface PullEvent {
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Pulls an image, with the registry credentials when given, and follows the
 * pull to its end. The deadline is on silence, not on the whole pull: a large
 * image may take minutes, but a pull that says nothing for `idleTimeoutMs` is
 * stuck. Throws what {@link translateEngineError} makes of the failure.
 */
export async function pullImage(docker: Dockerode, image: string, auth: RegistryAuth | undefined, idleTimeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onStall: (err: Error) => void = () => {};
  const stalled = new Promise<never>((_, reject) => {
    onStall = reject;
  });
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const err = new Error(`the pull made no progress for ${idleTimeoutMs / 1000} s`);
      controller.abort(err);
      onStall(err);
    }, idleTimeoutMs);
  };
  const follow = async (): Promise<void> => {
    const stream = await docker.pull(image, {
      abortSignal: controller.signal,
      ...(auth ? { authconfig: { ...auth } } : {}),
    });
    arm();
    const events = await new Promise<PullEvent[]>((resolve, reject) => {
      docker.modem.followProgress(stream, (err, output: PullEvent[]) => (err ? reject(err) : resolve(output)), arm);
    });
    // The engine reports most pull failures inside a 200 stream, not as a status.
    const failure = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
    if (failure) throw new Error(failure.errorDetail?.message ?? failure.error ?? 'unknown pull error');
  };
  arm();
  try {
    await Promise.race([follow(), stalled]);
  } catch (err) {
    throw translateEngineError(err, `pull ${image}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A failed pull as a person reads it: the engine's message without the
 * credentials the pull was made with (should the engine ever echo them), and
 * a hint when the registry asked for credentials.
 */
export function pullFailure(message: string, auth: RegistryAuth | undefined): string {
  let text = message;
  // Shorter values would blank out ordinary words; they cannot be read back from a sentence anyway.
  for (const value of [auth?.password, auth?.username]) if (value && value.length >= 4) text = text.split(value).join('[redacted]');
  if (/unauthori[sz]ed|authentication required|no basic auth credentials|denied/i.test(text))
    text += auth ? " (the registry refused the credentials of the node's registry secret)" : " (the registry wants credentials: set the node's registry_secret_id)";
  return text;
}
