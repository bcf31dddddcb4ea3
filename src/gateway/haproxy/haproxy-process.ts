/**
 * HAProxy as a child of `berth serve`: started in master-worker mode in the
 * foreground, its stdout (the fast path's access lines) read line by line,
 * restarted when it exits without being asked, stopped with Berth.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { AdminSocket } from './admin-socket';

export interface HaproxyProcessOptions {
  binary: string;
  configFile: string;
  admin: AdminSocket;
  log: Logger;
  /** Each line HAProxy writes on stdout. */
  onLine(line: string): void;
  /** Just before each start (the files HAProxy reads only at start). */
  beforeStart?(): void;
  /** HAProxy (re)started and answers on its admin socket: the state it holds must be set again. */
  onReady(): Promise<void>;
}

const READY_WITHIN_MS = 10_000;

/**
 * Runs HAProxy (master-worker, foreground) and soft-stops it (SIGUSR1: stop
 * listening, finish the calls in flight) when its stdin, a pipe Berth holds,
 * closes; exits with HAProxy's status.
 */
const TIED_TO_BERTH = [
  'exec 3<&0',
  '"$1" -W -db -f "$2" </dev/null & pid=$!',
  '(read -r _ <&3; kill -USR1 "$pid" 2>/dev/null) & watcher=$!',
  'wait "$pid"; code=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');
const RESTART_AFTER_MS = [100, 500, 1000, 2000, 5000];

export class HaproxyProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: HaproxyProcessOptions) {}

  /** Starts HAProxy and resolves once it answers on its admin socket and `onReady` has run. */
  async start(): Promise<void> {
    this.o.beforeStart?.();
    // Through a shell that holds a pipe from Berth: when Berth goes (even killed), the pipe closes and HAProxy is soft-stopped.
    const child = spawn('/bin/sh', ['-c', TIED_TO_BERTH, 'berth-haproxy', this.o.binary, this.o.configFile], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    let exited: string | undefined;
    const stderr: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => this.o.onLine(line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (stderr.length < 50) stderr.push(line);
      if (/\[(ALERT|WARNING)\]/.test(line)) this.o.log.warn({ haproxy: line }, 'HAProxy');
      else this.o.log.debug({ haproxy: line }, 'HAProxy');
    });
    child.once('error', (err) => {
      exited = err.message;
    });
    child.once('exit', (code, signal) => {
      exited ??= `exit ${code ?? signal}`;
      if (this.child === child) this.child = undefined;
      if (!this.stopping) this.restartLater(exited, stderr);
    });
    const deadline = Date.now() + READY_WITHIN_MS;
    for (;;) {
      if (exited !== undefined) throw new Error(`HAProxy did not start (${exited}): ${stderr.slice(-5).join(' | ')}`);
      const probe = await this.o.admin.tryRun('show info').catch((err: Error) => ({ ok: false, answer: err.message }));
      if (probe.ok) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`HAProxy did not answer on its admin socket within ${READY_WITHIN_MS} ms: ${stderr.slice(-5).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.o.onReady();
    this.restarts = 0;
  }

  private restartLater(why: string, stderr: string[]): void {
    const wait = RESTART_AFTER_MS[Math.min(this.restarts, RESTART_AFTER_MS.length - 1)]!;
    this.restarts++;
    this.o.log.error({ why, stderr: stderr.slice(-5), restartInMs: wait }, 'HAProxy exited; restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start().catch((err: Error) => {
        this.o.log.error({ err }, 'HAProxy did not restart');
        if (!this.stopping && this.child === undefined) this.restartLater(err.message, []);
      });
    }, wait);
  }

  /** The process id of the shell that runs HAProxy (its process group), while it runs. */
  pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Soft stop: HAProxy stops listening and lets calls in flight finish
   * (up to `graceMs`), then it is killed.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => {
      // The shell, HAProxy's master and its workers are one process group.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, Math.max(graceMs, 100));
    await exited;
    clearTimeout(timer);
  }
}
