import { execFile } from 'node:child_process';
import type { EnvironmentFacts } from '../domain/environment';
import { captureCheckpoint } from './capture';
import { PROBE_SCRIPT, parseProbeOutput, type CaptureRequest, type CaptureResult, type CaptureSandbox } from './capture-sandbox';

/** How long a probe of the local Python may take (importing a package to read its version included). */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Captures in a local Python process (Berth's --python), as the process
 * runtime's instances restore checkpoints in that same Python.
 */
export class ProcessCaptureSandbox implements CaptureSandbox {
  readonly kind = 'process' as const;

  constructor(private readonly python: string) {}

  capture(r: CaptureRequest): Promise<CaptureResult> {
    return captureCheckpoint({ python: this.python, cells: r.cells, served: r.served, timeoutMs: r.timeoutMs, memoryMb: r.memoryMb, signal: r.signal, ...(r.onProgress ? { onProgress: r.onProgress } : {}) });
  }

  async isPresent(): Promise<boolean> {
    return true;
  }

  probe(_environment: string, modules: string[]): Promise<EnvironmentFacts> {
    const label = `--python ${this.python}`;
    return new Promise((resolve) => {
      execFile(
        this.python,
        ['-I', '-c', PROBE_SCRIPT, ...modules],
        { timeout: PROBE_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, maxBuffer: 1024 * 1024 },
        (err, stdout, stderr) => {
          const found = parseProbeOutput(stdout);
          if (found) resolve({ label, ...found });
          else resolve({ label, pythonVersion: '', modules: {}, problem: `cannot run python3 (${err?.message ?? stderr.trim().slice(-200)})` });
        },
      );
    });
  }
}
