import { spawn } from 'node:child_process';
import path from 'node:path';

export const BERTH_BIN = path.join(__dirname, '..', '..', 'bin', 'berth.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This process's environment without any BERTH_* setting: what a user's shell has before they set one. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
  return { ...env, ...extra };
}

/**
 * Runs the built `berth` command as a user would (`npm run build` first), in
 * `cwd`, with stdin `input`, and resolves with its exit status and output.
 * Killed after `timeoutMs`, which fails the test with what it printed.
 */
export function runBerth(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BERTH_BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`berth ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    proc.stdin.end(opts.input ?? '');
  });
}

/** A notebook (nbformat 4) with these code cells and a markdown cell between the first two. */
export function notebook(cells: string[]): string {
  const code = (source: string) => ({ cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source });
  const [first, ...rest] = cells;
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [code(first ?? ''), { cell_type: 'markdown', metadata: {}, source: '# the model' }, ...rest.map(code)],
  });
}

/** The price model of the README's quick start: y = 0.5 x + 2, refusing negative x. */
export const PRICE_CELLS = [
  'import time\nweights = [0.5, 2.0]',
  'def predict(x):\n    if x < 0:\n        raise ValueError("negative")\n    return weights[0] * x + weights[1]',
  'y = predict(x)',
];

// eslint-disable-next-line no-control-regex
export const ESCAPE = /\x1b/;
