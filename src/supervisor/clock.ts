/**
 * The supervisor's one source of time: reading it and waiting on it. Injected
 * so that the work queue, backoff and crash-loop timing are tested with a
 * fake clock, and so that nothing in the supervisor reads the wall clock on
 * its own.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; returns the function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** The wall clock and Node's timers; timers never keep the process alive on their own. */
export function systemClock(now: () => Date = () => new Date()): Clock {
  return {
    now: () => now().getTime(),
    after(ms, fn) {
      const timer = setTimeout(fn, Math.max(0, ms));
      timer.unref();
      return () => clearTimeout(timer);
    },
  };
}
