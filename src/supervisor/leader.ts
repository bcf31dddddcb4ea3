import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { processAlive } from '../host-checks';

/**
 * Only one Berth process reconciles a database at a time. Whoever holds the
 * lock reconciles; the others keep serving the API and try again periodically.
 */
export interface LeaderLock {
  /** Tries to take the lock; true when this process holds it now. */
  tryAcquire(): Promise<boolean>;
  /** True while held (a lost PostgreSQL session loses it). */
  held(): boolean;
  release(): Promise<void>;
}

/** A PostgreSQL session-level advisory lock on its own connection: it dies with the process. */
export class PostgresLeaderLock implements LeaderLock {
  private client: Client | undefined;
  private isHeld = false;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly key = 0x62657274, // "bert"
  ) {}

  async tryAcquire(): Promise<boolean> {
    if (this.isHeld) return true;
    if (!this.client) {
      const client = new Client({ connectionString: this.url, application_name: 'berth-supervisor' });
      client.on('error', (err) => {
        this.log.warn({ err }, 'leader lock connection lost');
        this.isHeld = false;
        this.client = undefined;
      });
      await client.connect();
      this.client = client;
    }
    const res = await this.client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [this.key]);
    this.isHeld = res.rows[0]?.locked === true;
    return this.isHeld;
  }

  held(): boolean {
    return this.isHeld;
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.isHeld = false;
    await client?.end().catch(() => undefined);
  }
}

/**
 * A lock file beside the SQLite database holding the owner's pid. A file left
 * by a process that died (even by SIGKILL) is taken over, since its pid no
 * longer runs.
 */
export class FileLeaderLock implements LeaderLock {
  private isHeld = false;
  /** Who holds the lock: the pid (to detect a dead owner) and a token (two Berths may share a process). */
  private readonly owner = `${process.pid}:${randomBytes(8).toString('hex')}`;

  constructor(private readonly path: string) {}

  async tryAcquire(): Promise<boolean> {
    if (this.isHeld) return true;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, 'wx');
        writeSync(fd, this.owner);
        closeSync(fd);
        this.isHeld = true;
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const content = readFileSync(this.path, 'utf8').trim();
        if (content === this.owner) {
          this.isHeld = true;
          return true;
        }
        const pid = Number(content.split(':')[0]);
        if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return false;
        try {
          unlinkSync(this.path);
        } catch {
          // another process took it over first
        }
      }
    }
    return false;
  }

  held(): boolean {
    return this.isHeld;
  }

  async release(): Promise<void> {
    if (!this.isHeld) return;
    this.isHeld = false;
    try {
      if (readFileSync(this.path, 'utf8').trim() === this.owner) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
