/**
 * What HAProxy may let through without asking Berth: decisions Berth made
 * on a call it served itself, copied into HAProxy's maps.
 *
 * A grant is "this `authorization` header may call this node (or through
 * this alias, `folder/name`), as this folder": the SHA-256 of the header,
 * the route and `x-folder-id` (empty when not sent), as HAProxy computes
 * them. It is written when Berth's own path let such a call through. Every
 * `ttlMs` (no longer than Berth itself keeps a key's and a node's access
 * facts) a grant HAProxy used is decided again by Berth, in the background,
 * and one it did not use is dropped: a revoked key or a changed ACL stops at
 * HAProxy no later than it stops at Berth, and a busy caller's calls never
 * have to go through Berth to keep their grant. Keys with a rate limit are
 * never granted: each of their calls is counted by Berth.
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
  /** When Berth last decided it. */
  at: number;
  caller: GrantedCaller;
  /** What Berth decides it again from (kept in memory only). */
  call: GrantedCall;
  /** HAProxy let a call through on it since it was decided. */
  used: boolean;
  checking: boolean;
}

/** The call a grant was decided for. */
export interface GrantedCall {
  authorization: string | undefined;
  /** A node id, or an alias's `folder/name`. */
  target: string;
  folderId: string | undefined;
}

/** Decides a grant again: the caller it stands for now, or undefined when it no longer holds. */
export type Recheck = (call: GrantedCall) => Promise<GrantedCaller | undefined>;

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

  constructor(
    private readonly admin: AdminSocket,
    private readonly files: { grants: string; hosts: string },
    private readonly authNone: boolean,
    private readonly recheck: Recheck,
    private readonly log: Logger,
    private readonly ttlMs = 1000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, ttlMs / 4));
    this.sweeper.unref();
  }

  /** Berth let this call through (to a node, or through an alias: `folder/name`): later ones like it may take HAProxy's path. */
  grant(authorization: string | undefined, target: string, folderId: string | undefined, caller: GrantedCaller): void {
    if (!TARGET_SAFE.test(target) || (folderId !== undefined && !MAP_SAFE.test(folderId))) return;
    const key = grantKey(authorization, target, folderId, this.authNone);
    const known = this.grants.get(key);
    if (known) {
      known.at = Date.now();
      known.caller = caller;
      return;
    }
    if (this.grants.size >= MAX_GRANTS) return;
    this.grants.set(key, { at: Date.now(), caller, call: { authorization, target, folderId }, used: false, checking: false });
    this.write(`add map ${this.files.grants} ${key} ${caller.keyId && MAP_SAFE.test(caller.keyId) ? caller.keyId : '-'}`);
  }

  /** Who a grant (as HAProxy logged it) stands for, while it is known; the grant counts as used. */
  callerOf(grantKeyLogged: string): GrantedCaller | undefined {
    const grant = this.grants.get(grantKeyLogged);
    if (grant === undefined) return undefined;
    grant.used = true;
    return grant.caller;
  }

  /** Berth's host check passed this `Host`. */
  allowHost(host: string | undefined): void {
    if (host === undefined || this.hosts.has(host) || this.hosts.size >= MAX_HOSTS || !/^[A-Za-z0-9.:[\]-]{1,255}$/.test(host)) return;
    this.hosts.add(host);
    this.write(`add map ${this.files.hosts} ${host} 1`);
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
      // A check that has not answered within a few periods (a database that does not answer) ends the grant.
      if (g.checking && now - g.at > 3 * this.ttlMs) this.drop(key);
      if (g.checking || now - g.at < this.ttlMs) continue;
      if (!g.used) {
        this.drop(key);
        continue;
      }
      g.checking = true;
      this.recheck(g.call).then(
        (caller) => {
          g.checking = false;
          if (this.grants.get(key) !== g) return;
          if (caller === undefined) return this.drop(key);
          g.at = Date.now();
          g.caller = caller;
          g.used = false;
        },
        () => {
          g.checking = false;
          if (this.grants.get(key) === g) this.drop(key);
        },
      );
    }
  }

  private drop(key: string): void {
    this.grants.delete(key);
    this.write(`del map ${this.files.grants} ${key}`);
  }

  private write(command: string): void {
    void this.admin.run(command).catch((err: Error) => this.log.warn({ err: err.message }, 'HAProxy map update failed'));
  }
}
