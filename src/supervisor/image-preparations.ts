import type { RegistryAuth, Runtime } from '../runtime/runtime';

/** What a reconcile pass learns about a node's image. */
export type ImageReadiness = { ready: true } | { ready: false; progress: string };

interface Preparation {
  done: Promise<void>;
  /** The last line the runtime reported (a build's or a pull's). */
  progress: string;
  settled?: { atMs: number; error?: unknown };
}

/** How long a reconcile pass waits for an image before it goes on and looks again later. */
const WAIT_IN_PASS_MS = 1000;

/**
 * A settled preparation is remembered this long, so that every node waiting
 * for the image learns its outcome (one failed build fails them all) rather
 * than starting it again.
 */
const REMEMBER_MS = 10_000;

/**
 * Runs {@link Runtime.ensureImage} off the reconcile pass: building the system
 * image takes minutes and the supervisor's workers are few, so a pass waits
 * for an image briefly and otherwise says "not yet" with the last progress
 * line; the node is looked at again soon. One preparation per image (and
 * credentials) at a time, whichever nodes wait for it.
 */
export class ImagePreparations {
  private readonly preparations = new Map<string, Preparation>();

  constructor(
    private readonly runtime: Runtime,
    private readonly now: () => number,
    private readonly waitInPassMs = WAIT_IN_PASS_MS,
  ) {}

  /**
   * Whether the image is there; throws what ensureImage threw when it could
   * not be made. A failure that settled before `attemptSinceMs` (the asking
   * node's start attempt began after it: a resume, an update) is not its
   * verdict: the image is asked for again.
   */
  async readiness(image: string, auth: RegistryAuth | undefined, attemptSinceMs = 0): Promise<ImageReadiness> {
    const key = JSON.stringify([image, auth ?? null]);
    let prep = this.preparations.get(key);
    if (prep?.settled && (this.now() - prep.settled.atMs > REMEMBER_MS || prep.settled.atMs < attemptSinceMs)) {
      this.preparations.delete(key);
      prep = undefined;
    }
    if (!prep) {
      const entry: Preparation = { done: Promise.resolve(), progress: '' };
      entry.done = this.runtime.ensureImage(image, auth, (line) => (entry.progress = line));
      entry.done.then(
        () => (entry.settled = { atMs: this.now() }),
        (error: unknown) => (entry.settled = { atMs: this.now(), error }),
      );
      this.preparations.set(key, entry);
      prep = entry;
    }
    if (!prep.settled) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([prep.done.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, this.waitInPassMs)))]);
      clearTimeout(timer);
      // The settled mark is set by a callback queued before this one resumes.
      await Promise.resolve();
    }
    if (!prep.settled) return { ready: false, progress: prep.progress };
    if (prep.settled.error !== undefined) throw prep.settled.error;
    // Ready: the next attempt asks the runtime again (the image may be removed meanwhile).
    this.preparations.delete(key);
    return { ready: true };
  }
}
