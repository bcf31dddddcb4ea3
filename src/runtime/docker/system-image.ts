import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../paths';

/** Builds the system image (the image of checkpoint instances) when the engine does not have it. */
export interface SystemImageBuilder {
  /**
   * Builds `image` into the local engine, calling `onProgress` with each line
   * of the build's output. Rejects with an Error whose message ends with the
   * last lines of that output.
   */
  build(image: string, onProgress: (line: string) => void): Promise<void>;
}

/** The script that builds the system image, from sources (tsx) or from the build (dist/). */
export function systemImageScript(): string {
  return path.join(packageRoot(), 'scripts', 'build-system-image.sh');
}

/** How the script marks a stage of the build: "[2/5] downloading …". */
export const STAGE = /^\[(\d+\/\d+)\]\s*(.*)$/;

/** How many of the last output lines a failed build reports. */
const TAIL_LINES = 5;

/** A build that has not ended after this long is stopped (a stuck download, say). */
const BUILD_TIMEOUT_MS = 30 * 60_000;

/** Lines longer than this are cut: a progress line is for people, not a log. */
const MAX_LINE = 300;

/**
 * Runs scripts/build-system-image.sh --tag <image>: debootstrap from Debian's
 * mirror and `docker import` where debootstrap is installed (no registry
 * needed), else `docker build` of images/python/Dockerfile. The script holds
 * a host-wide lock, so Berth processes on one host build one at a time and a
 * second one finds the image made by the first.
 *
 * A script rather than TypeScript: the same steps serve the test helpers and
 * a person building by hand, and debootstrap, tar and docker are programs
 * anyway.
 */
export class ScriptSystemImageBuilder implements SystemImageBuilder {
  constructor(
    private readonly script = systemImageScript(),
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly timeoutMs = BUILD_TIMEOUT_MS,
  ) {}

  build(image: string, onProgress: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const tail: string[] = [];
      // Its own process group, so that a stop reaches debootstrap and docker too.
      const child = spawn('bash', [this.script, '--tag', image], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          // Gone already.
        }
      }, this.timeoutMs);
      const take = (raw: string): void => {
        const line = raw.trim().slice(0, MAX_LINE);
        if (!line) return;
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        onProgress(line);
      };
      createInterface({ input: child.stderr }).on('line', take);
      // stdout carries only the BERTH_SYSTEM_IMAGE= line; anything else is progress too.
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('BERTH_SYSTEM_IMAGE=')) take(line);
      });
      child.on('error', (err) => reject(new Error(`cannot run ${this.script}: ${err.message}`)));
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else if (timedOut) reject(new Error(`the build did not end within ${Math.round(this.timeoutMs / 60_000)} min` + (tail.length > 0 ? `; last output: ${tail.join(' | ')}` : '')));
        else
          reject(
            new Error(
              `${path.basename(this.script)} ${signal ? `was killed by ${signal}` : `exited with ${code}`}` +
                (tail.length > 0 ? `; last output: ${tail.join(' | ')}` : ''),
            ),
          );
      });
    });
  }
}

/**
 * The system image and how to build it; a DockerRuntime given one builds
 * that image when it is missing instead of pulling it.
 */
export interface SystemImageOptions {
  image: string;
  builder: SystemImageBuilder;
}

/**
 * One build at a time per image within this process (single flight): every
 * caller waiting for the same image shares the build and hears its progress.
 */
export class SystemImageBuilds {
  private readonly inflight = new Map<string, { done: Promise<void>; listeners: Set<(line: string) => void>; stage: string; last: string }>();

  constructor(private readonly builder: SystemImageBuilder) {}

  /** Builds the image, or joins the build under way; the last stage line and the last line are replayed to a joiner. */
  async build(image: string, onProgress?: (line: string) => void): Promise<void> {
    let build = this.inflight.get(image);
    if (!build) {
      const listeners = new Set<(line: string) => void>();
      const entry = { done: Promise.resolve(), listeners, stage: '', last: '' };
      entry.done = this.builder
        .build(image, (line) => {
          if (STAGE.test(line)) entry.stage = line;
          entry.last = line;
          for (const listener of listeners) listener(line);
        })
        .finally(() => this.inflight.delete(image));
      this.inflight.set(image, entry);
      build = entry;
    } else if (onProgress) {
      if (build.stage) onProgress(build.stage);
      if (build.last && build.last !== build.stage) onProgress(build.last);
    }
    if (onProgress) build.listeners.add(onProgress);
    try {
      await build.done;
    } finally {
      if (onProgress) build.listeners.delete(onProgress);
    }
  }

  /** Whether a build of the image runs in this process now. */
  building(image: string): boolean {
    return this.inflight.has(image);
  }
}
