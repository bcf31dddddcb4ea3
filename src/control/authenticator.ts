import { timingSafeEqual } from 'node:crypto';
import { keyRefusal, type ApiKey, type Caller } from '../domain/access';
import { UnauthenticatedError } from '../domain/errors';
import type { Logger } from '../logger';
import { store, type ControlContext } from './context';
import { ANONYMOUS_ADMIN, hashSecret, keyIdOf } from './iam';
import { currentCall } from '../observability/observed-call';

export type AuthMode = 'keys' | 'none';

interface Verified {
  at: number;
  caller: Caller;
  key: ApiKey;
}

const SCHEME = /^(?:Bearer|Api-Key)[ \t]+(\S+)[ \t]*$/i;

/** The key an `authorization` header carries, or undefined (no header); UNAUTHENTICATED when it is malformed. */
export function secretOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization === '') return undefined;
  const m = SCHEME.exec(authorization);
  if (!m) throw new UnauthenticatedError('the authorization header must be "Bearer <API key>" or "Api-Key <API key>"');
  return m[1];
}

/**
 * Turns the `authorization` of a call into a Caller. A verified key is kept
 * for `cacheMs` so that the data plane does not ask the database on every
 * call; a revoke or role change made through this process is seen at once
 * (`forget`), one made through another process sharing the database within
 * `cacheMs`. Also counts each key's calls, written every `usageFlushMs`.
 */
export class Authenticator {
  private readonly verified = new Map<string, Verified>();
  private readonly usage = new Map<string, { calls: number; last: Date }>();
  private lastSweep = 0;
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly ctx: ControlContext,
    readonly mode: AuthMode,
    private readonly log: Logger,
    private readonly cacheMs = 2000,
    private readonly usageFlushMs = 5000,
  ) {}

  start(): void {
    if (this.mode === 'keys') this.flushTimer = setInterval(() => void this.flushUsage(), this.usageFlushMs);
  }

  async stop(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushUsage();
  }

  /** Something that decides what callers may do changed: verify every key again. */
  forget(): void {
    this.verified.clear();
  }

  /**
   * The caller of a call with this `authorization` header. UNAUTHENTICATED
   * when it is missing, malformed, unknown, revoked or expired. Under
   * `--auth none` every call is the anonymous server admin. `countsAsCall`
   * false: a check made on the key's behalf (renewing HAProxy's grant), not
   * one of its calls.
   */
  authenticate(authorization: string | undefined, countsAsCall = true): Caller | Promise<Caller> {
    if (this.mode === 'none') {
      currentCall()?.noteCaller(ANONYMOUS_ADMIN);
      return ANONYMOUS_ADMIN;
    }
    const secret = secretOf(authorization);
    if (secret === undefined) throw new UnauthenticatedError('this call needs an API key: send "authorization: Bearer <API key>"');
    const now = Date.now();
    const hit = this.verified.get(secret);
    if (hit && now - hit.at < this.cacheMs) return this.admit(hit.key, hit.caller, now, countsAsCall);
    return this.verify(secret, now, countsAsCall);
  }

  private admit(key: ApiKey, caller: Caller, now: number, countsAsCall: boolean): Caller {
    const refusal = keyRefusal(key, new Date(now));
    if (refusal) throw new UnauthenticatedError(refusal);
    if (countsAsCall) this.countCall(key.id, now);
    // The call's access line names who made it.
    currentCall()?.noteCaller(caller);
    return caller;
  }

  /** One more call made with a key (also for calls another process let through on Berth's grant: HAProxy's fast path). */
  countCall(keyId: string, now = Date.now()): void {
    const u = this.usage.get(keyId);
    if (u) {
      u.calls++;
      u.last = new Date(now);
    } else this.usage.set(keyId, { calls: 1, last: new Date(now) });
  }

  private async verify(secret: string, now: number, countsAsCall: boolean): Promise<Caller> {
    const keyId = keyIdOf(secret);
    if (!keyId) throw new UnauthenticatedError('the API key is not valid');
    const s = store(this.ctx);
    const found = await s.apiKeys.getWithHash(keyId);
    const expected = Buffer.from(found?.secretHash ?? '0'.repeat(64), 'hex');
    const given = Buffer.from(hashSecret(secret), 'hex');
    if (!found || !timingSafeEqual(expected, given)) throw new UnauthenticatedError('the API key is not valid');
    const principal = await s.principals.get(found.key.principalId);
    if (!principal) throw new UnauthenticatedError('the API key is not valid');
    const roles = new Map((await s.accessBindings.ofPrincipal(principal.id)).map((b) => [b.folderId, b.role]));
    const caller: Caller = { principal, keyId, key: found.key, roles };
    this.sweep(now);
    this.verified.set(secret, { at: now, caller, key: found.key });
    return this.admit(found.key, caller, now, countsAsCall);
  }

  /** Drops expired entries at most once per cache period, so that the map holds only keys in use. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.cacheMs) return;
    this.lastSweep = now;
    for (const [secret, v] of this.verified) if (now - v.at >= this.cacheMs) this.verified.delete(secret);
  }

  /** Writes the counted calls; a failed write keeps them for the next try. */
  async flushUsage(): Promise<void> {
    if (this.usage.size === 0) return;
    const batch = [...this.usage];
    this.usage.clear();
    const keys = store(this.ctx).apiKeys;
    for (const [keyId, u] of batch) {
      try {
        await keys.addUsage(keyId, u.calls, u.last);
      } catch (err) {
        const now = this.usage.get(keyId);
        this.usage.set(keyId, { calls: u.calls + (now?.calls ?? 0), last: now?.last ?? u.last });
        this.log.warn({ err: (err as Error).message, keyId }, 'cannot write the usage of an API key; will retry');
      }
    }
  }
}
