import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';

const BIN = path.join(__dirname, '..', '..', 'bin', 'berth.js');

/** A `berth serve` child process, as a user starts it. */
export interface ServeProcess {
  proc: ChildProcess;
  grpcPort: number;
  httpPort: number;
  nodeApiPort: number;
  /** Every JSON log line so far. */
  logs: any[];
  /** Emits 'log' with each JSON log line as it arrives (to act at a precise point of a run). */
  events: EventEmitter;
  exited: Promise<number | null>;
}

/**
 * Starts `berth serve` with the given flags and waits for its "berth is
 * serving" log line. Without an `--auth` flag it runs with `--auth none`
 * (loopback): tests of access control say what they want.
 */
export async function startServe(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ServeProcess> {
  const auth = args.includes('--auth') || args.some((a) => a.startsWith('--auth=')) ? [] : ['--auth', 'none'];
  const proc = spawn(process.execPath, [BIN, 'serve', ...auth, ...args], {
    // BERTH_TEST_DATA_PLANE=builtin or haproxy runs the same tests with that node-API data plane (default: Berth's own, auto).
    env: { ...process.env, BERTH_LOG_LEVEL: 'info', ...(process.env.BERTH_TEST_DATA_PLANE ? { BERTH_DATA_PLANE: process.env.BERTH_TEST_DATA_PLANE } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: any[] = [];
  const events = new EventEmitter();
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const ready = new Promise<{ grpcPort: number; httpPort: number; nodeApiPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth serve did not start within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: any;
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      logs.push(entry);
      events.emit('log', entry);
      if (entry.msg === 'berth is serving') {
        clearTimeout(timer);
        resolve({ grpcPort: entry.grpcPort, httpPort: entry.httpPort, nodeApiPort: entry.nodeApiPort });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`berth serve exited with ${code} before serving:\n${stderr}`));
    });
  });
  const ports = await ready;
  return { proc, logs, events, exited, ...ports };
}
