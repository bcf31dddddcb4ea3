/**
 * What HAProxy may let through without asking Berth: decisions Berth made
 * on a call it served itself, copied into HAProxy's maps.
 *
 * A grant is "this `authorization` header may call this node (or through
 * this alias, `folder/name`), as this folder": the SHA-256 of the header,
 * the route and `x-folder-id` (empty when not sent), as HAProxy computes them. It is written when Berth's own
 * path let such a call through, and removed after `ttlMs`, the time Berth
 * itself keeps a key's and a node's access facts, so a revoked key or a
 * changed ACL stops at HAProxy no later than it stops at Berth. Keys with a
 * rate limit are never granted: each of their calls is counted by Berth.
 *
 * A host is a `Host` header Berth's host check passed; hosts never expire
 * (the check depends only on flags), and at most {@link MAX_HOSTS} are kept.
 */

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { AdminSocket } from './admin-socket';

/** The caller a grant stands for, to name it in the access line and count its key's use. */
export interface GrantedCaller {
  principalId?: string;
  principalName?: string;
  keyId?: string;
}

interface Grant {
  at: number;
  caller: GrantedCaller;
}

const MAX_GRANTS = 10_000;
const MAX_HOSTS = 64;
/** What HAProxy map keys and values may hold here: no spaces, no separators. */
const MAP_SAFE = /^[A-Za-z0-9._:-]*$/;
/** A route: a node id, or `folder/name` for an alias. */
const TARGET_SAFE = /^[A-Za-z0-9._:-]+(\/[A-Za-z0-9._:-]+)?$/;

/** The grant key HAProxy computes for a call (see `config.ts`). */
export function grantKey(authorization: string | undefined, target: string, folderId: string | undefined, authNone: boolean): string {
  const key = authNone || authorization === undefined ? '-' : createHash('sha256').update(authorization, 'latin1').digest('hex');
  return `${key}:${target}:${folderId ?? ''}`;
}

export class Grants {
  private readonly grants = new Map<string, Grant>();
  private readonly hosts = new Set<string>();
  private readonly sweeper: NodeJS.Timeout;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly admin: AdminSocket,
    private readonly files: { grants: string; hosts: string },
    private readonly authNone: boolean,
    private readonly log: Logger,
    private readonly ttlMs = 1000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, ttlMs / 4));
    this.sweeper.unref();
  }

  /** Berth let this call through (to a node, or through an alias: `folder/name`): later ones like it may take HAProxy's path for `ttlMs`. */
  grant(authorization: string | undefined, target: string, folderId: string | undefined, caller: GrantedCaller): void {
    if (!TARGET_SAFE.test(target) || (folderId !== undefined && !MAP_SAFE.test(folderId))) return;
    const key = grantKey(authorization, target, folderId, this.authNone);
    const now = Date.now();
    const known = this.grants.get(key);
    // Renewed at most twice per period: a busy key does not send a command per call.
    if (known && now - known.at < this.ttlMs / 2) return;
    if (!known && this.grants.size >= MAX_GRANTS) return;
    this.grants.set(key, { at: now, caller });
    if (known) return;
    this.write(`add map ${this.files.grants} ${key} ${caller.keyId && MAP_SAFE.test(caller.keyId) ? caller.keyId : '-'}`);
  }

  /** Who a grant (as HAProxy logged it) stands for, while it is known. */
  callerOf(grantKeyLogged: string): GrantedCaller | undefined {
    return this.grants.get(grantKeyLogged)?.caller;
  }

  /** Berth's host check passed this `Host`. */
  allowHost(host: string | undefined): void {
    if (host === undefined || this.hosts.has(host) || this.hosts.size >= MAX_HOSTS || !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(host)) return;
    this.hosts.add(host);
    this.write(`add map ${this.files.hosts} ${host} 1`);
  }

  /** Everything Berth granted is gone (a key revoked, HAProxy restarted empty). */
  forgetAll(): void {
    this.grants.clear();
    this.write(`clear map ${this.files.grants}`);
  }

  /** HAProxy restarted with empty maps: the hosts are written again; grants are learnt again. */
  async rewrite(): Promise<void> {
    this.grants.clear();
    for (const host of this.hosts) await this.admin.tryRun(`add map ${this.files.hosts} ${host} 1`);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, g] of this.grants) {
      if (now - g.at < this.ttlMs) continue;
      this.grants.delete(key);
      this.write(`del map ${this.files.grants} ${key}`);
    }
  }

  private write(command: string): void {
    this.writing = this.admin.run(command).catch((err: Error) => this.log.warn({ err: err.message }, 'HAProxy map update failed'));
  }

  /** Resolves when the map commands sent so far are done. */
  flushed(): Promise<unknown> {
    return this.writing;
  }
}
