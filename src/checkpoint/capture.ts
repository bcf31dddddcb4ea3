import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseWorkerOutput, type CaptureResult } from './capture-sandbox';
import { workerScript } from '../paths';
import { OutputTail } from './output-tail';
import { lastLineOf, withCellOutput } from './capture-output';
import { killProcessGroup, killProcessTree } from './process-tree';

/** How much of the worker's stdout and stderr is kept (the end of it): a cell may print without bound. */
const OUTPUT_TAIL_BYTES = 64 * 1024;
/** After the worker's own time limit, how long before Berth kills it. */
const BACKSTOP_GRACE_MS = 10_000;
/** How long to wait for output still in the pipe after the worker exited. */
const PIPE_DRAIN_MS = 1_000;

/** Resolves when the stream ended or after `ms`, whichever comes first. */
function drained(stream: NodeJS.ReadableStream & { readableEnded: boolean }, ms: number): Promise<void> {
  if (stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stream.off('end', done);
      stream.off('close', done);
      resolve();
    }
    stream.once('end', done);
    stream.once('close', done);
  });
}

export interface CaptureOptions {
  python: string;
  cells: string[];
  served: number;
  timeoutMs: number;
  memoryMb: number;
  /** Aborts the capture (the operation was cancelled). */
  signal?: AbortSignal;
  /** Told each line the cells print, as they print it (the operation shows the last one). */
  onProgress?: (line: string) => void;
}

export { describeCaptureError } from './capture-sandbox';
export type { CaptureResult } from './capture-sandbox';

/**
 * Runs the cells up to the served one in a fresh, isolated Python process
 * (`-I`, an empty working directory, a minimal environment, time and memory
 * limits) and captures its globals into a blob the workers restore.
 */
export async function captureCheckpoint(o: CaptureOptions): Promise<CaptureResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-capture-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const cellsFile = path.join(dir, 'cells.json');
  const blobFile = path.join(dir, 'checkpoint.blob');
  await writeFile(cellsFile, JSON.stringify({ cells: o.cells }));
  const args = ['-I', workerScript(), 'capture', '--cells', cellsFile, '--served', String(o.served), '--out', blobFile];
  args.push('--timeout', String(Math.max(1, Math.ceil(o.timeoutMs / 1000))), '--memory-mb', String(o.memoryMb));
  const work = path.join(dir, 'work');
  await mkdir(work);
  return new Promise<CaptureResult>((resolve) => {
    // Its own process group (and session): the whole capture is killed at once.
    const child = spawn(o.python, args, {
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
    const stderr = new OutputTail(OUTPUT_TAIL_BYTES);
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => {
      stderr.push(d);
      if (!o.onProgress) return;
      const line = lastLineOf(d.toString('utf8'));
      if (line !== undefined) o.onProgress(line);
    });
    let stopped: 'timeout' | 'cancelled' | undefined;
    const stop = (why: 'timeout' | 'cancelled') => {
      stopped ??= why;
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) killProcessTree(child.pid);
    };
    // The worker keeps its own time limit and answers which cell ran over; this is the backstop.
    const backstop = setTimeout(() => stop('timeout'), o.timeoutMs + BACKSTOP_GRACE_MS);
    const onAbort = () => stop('cancelled');
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort);
    let settled = false;
    const settle = (result: CaptureResult | Promise<CaptureResult>) => {
      if (settled) return;
      settled = true;
      clearTimeout(backstop);
      o.signal?.removeEventListener('abort', onAbort);
      void Promise.resolve(result).then(resolve);
    };
    const fail = async (message: string): Promise<CaptureResult> => {
      await cleanup();
      return { ok: false, message };
    };
    child.on('error', (err) => settle(fail(`cannot run ${o.python}: ${err.message}`)));
    // Done when the worker itself exits, not when its pipes close: a process the
    // cells started may hold them open for as long as it lives.
    child.on('exit', (code, sig) => {
      if (child.pid !== undefined) killProcessGroup(child.pid);
      void drained(child.stdout, PIPE_DRAIN_MS).then(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        settle(finish(code, sig));
      });
    });
    const finish = (code: number | null, sig: NodeJS.Signals | null): Promise<CaptureResult> | CaptureResult => {
      if (stopped === 'cancelled' || o.signal?.aborted) return fail('the capture was cancelled');
      if (stopped === 'timeout')
        return fail(`the capture ran longer than its time limit of ${Math.round(o.timeoutMs / 1000)}s and was stopped`);
      const outcome = parseWorkerOutput(stdout.text(), stderr.text(), sig ?? `exit code ${code}`, o.timeoutMs, o.memoryMb);
      if (!outcome.ok) return fail(withCellOutput(outcome.message, stderr.text()));
      return {
        ...outcome,
        environmentImageId: '',
        blobFile,
        cleanup,
      };
    };
  });
}
