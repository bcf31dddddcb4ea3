/** One call's abort signal, and how to let go of it when the call ends. */
export interface CallDeadline {
  /** Aborted when the caller's signal aborts or the time is up, whichever comes first. */
  readonly signal: AbortSignal;
  /** Clears the timer and the listener on the caller's signal; call it once the call is over. */
  dispose(): void;
}

/**
 * The signal of one call: the caller's signal or a timeout, whichever fires first.
 *
 * Not `AbortSignal.any([caller, AbortSignal.timeout(ms)])`: on Node 20 a
 * timeout or composite signal that has an abort listener is held in a
 * process-wide set until the listener is removed or the timer fires, and a
 * composite one that was aborted through its source stays there for good
 * (its listener is never removed). Each call would then keep its request, its
 * response and the abort reason's stack reachable, for the timeout's length or
 * forever. Here one plain AbortController per call, a timer cleared and a
 * listener removed on {@link CallDeadline.dispose}, leaves nothing behind.
 */
export function callDeadline(timeoutMs: number, caller?: AbortSignal): CallDeadline {
  const controller = new AbortController();
  const onCallerAbort = (): void => controller.abort(caller?.reason);
  const timer = setTimeout(() => controller.abort(new DOMException(`the call did not finish within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  timer.unref();
  if (caller?.aborted) controller.abort(caller.reason);
  else caller?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}
