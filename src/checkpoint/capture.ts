import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CapturedVariable, CapturedVariableKind } from '../domain/checkpoint';
import { workerScript } from '../paths';

export interface CaptureOptions {
  python: string;
  cells: string[];
  served: number;
  timeoutMs: number;
  memoryMb: number;
  /** Aborts the capture (the operation was cancelled). */
  signal?: AbortSignal;
}

export type CaptureResult =
  | { ok: true; pythonVersion: string; variables: CapturedVariable[]; blobFile: string; cleanup: () => Promise<void> }
  | { ok: false; message: string };

interface WorkerError {
  kind: string;
  cell_index: number | null;
  variable: string | null;
  type_name: string | null;
  error_name: string;
  error_message: string;
  traceback: string[];
}

/** A failure of capture in words a notebook user understands: which cell, which variable, what happened. */
export function describeCaptureError(e: WorkerError, timeoutMs: number, memoryMb: number): string {
  const cell = e.cell_index === null || e.cell_index === undefined ? 'a cell' : `cell ${e.cell_index}`;
  const tb = e.traceback?.length ? `\n${e.traceback.join('\n')}` : '';
  switch (e.kind) {
    case 'syntax':
      return `${cell} has a syntax error: ${e.error_message}${tb}`;
    case 'uncapturable':
      // The worker's message names the variable and its type already.
      return e.error_message;
    case 'timeout':
      return `${cell} ran longer than the capture time limit of ${Math.round(timeoutMs / 1000)}s`;
    case 'memory':
      return `${cell} went over the capture memory limit of ${memoryMb} MiB${e.error_message ? `: ${e.error_message}` : ''}`;
    default:
      return `${cell} raised ${e.error_name}: ${e.error_message}${tb}`;
  }
}

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
    const child = spawn(o.python, args, {
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs + 15_000);
    const onAbort = () => child.kill('SIGKILL');
    o.signal?.addEventListener('abort', onAbort);
    const fail = async (message: string) => {
      await cleanup();
      resolve({ ok: false, message });
    };
    child.on('error', (err) => void fail(`cannot run ${o.python}: ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      o.signal?.removeEventListener('abort', onAbort);
      if (o.signal?.aborted) return void fail('the capture was cancelled');
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: { ok: boolean; python_version?: string; variables?: { name: string; type_name: string; kind: CapturedVariableKind }[]; error?: WorkerError };
      try {
        result = JSON.parse(line);
      } catch {
        return void fail(`the capture process ended (${signal ?? `exit code ${code}`}) without a result: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
      }
      if (!result.ok) return void fail(describeCaptureError(result.error!, o.timeoutMs, o.memoryMb));
      resolve({
        ok: true,
        pythonVersion: result.python_version ?? '',
        variables: (result.variables ?? []).map((v) => ({ name: v.name, typeName: v.type_name, kind: v.kind })),
        blobFile,
        cleanup,
      });
    });
  });
}
