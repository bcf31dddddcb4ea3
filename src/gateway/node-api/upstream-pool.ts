/**
 * Connections from the node API to instances, kept open between calls:
 * setting up TCP (and an HTTP/2 session) per call would cost more than the
 * whole proxy hop is allowed to add.
 *
 * - HTTP/1.1 instances share one keep-alive `http.Agent`; LIFO scheduling
 *   keeps the fewest sockets hot and lets the rest expire.
 * - h2c instances get one HTTP/2 session each, multiplexing every call; a
 *   session that is closed, errored or sent GOAWAY is dropped from the pool
 *   so the next call opens a fresh one. Sessions idle for a while are closed
 *   gracefully, so instances that left balancing do not keep one open.
 */

import http from 'node:http';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { NodeApiLogger } from './logger';
import type { Backend } from './resolver';

/** Per-stream receive window: large enough for a fast stream to not stall on WINDOW_UPDATEs. */
const STREAM_WINDOW = 1 << 20;
/** Per-session receive window, shared by all calls to one instance. */
const SESSION_WINDOW = 16 << 20;

/** HTTP/2 settings used on both sides of the proxy. */
export const HTTP2_SETTINGS: http2.Settings = {
  initialWindowSize: STREAM_WINDOW,
  enablePush: false,
};

/** Tuning of the pool; the defaults suit the node API. */
export interface UpstreamPoolOptions {
  /** Close an h2c session after this long without any frame (default 5 min). */
  sessionIdleTimeoutMs?: number;
}

interface PooledSession {
  readonly session: ClientHttp2Session;
  readonly host: string;
  readonly port: number;
}

/** Every connection the node API holds to instances; one per server. */
export class UpstreamPool {
  /** The keep-alive pool for HTTP/1.1 instances. */
  readonly agent: http.Agent;
  private readonly sessions = new Map<string, PooledSession>();
  private readonly sessionIdleTimeoutMs: number;

  constructor(
    private readonly logger: NodeApiLogger,
    options: UpstreamPoolOptions = {},
  ) {
    this.agent = new http.Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 1024 });
    this.sessionIdleTimeoutMs = options.sessionIdleTimeoutMs ?? 5 * 60_000;
  }

  /** The HTTP/2 session to `backend`, opened on first use and reused after. */
  session(backend: Backend): ClientHttp2Session {
    const pooled = this.sessions.get(backend.instanceId);
    if (pooled !== undefined) {
      const s = pooled.session;
      if (pooled.host === backend.host && pooled.port === backend.port && !s.closed && !s.destroyed) return s;
      this.sessions.delete(backend.instanceId);
      s.close();
    }
    return this.open(backend);
  }

  /** Closes every pooled connection (on shutdown; calls still running on them end first for HTTP/2). */
  close(): void {
    this.agent.destroy();
    for (const { session } of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  private open(backend: Backend): ClientHttp2Session {
    const { instanceId, host, port } = backend;
    const authority = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
    const session = http2.connect(authority, { settings: HTTP2_SETTINGS });
    const drop = (): void => {
      if (this.sessions.get(instanceId)?.session === session) this.sessions.delete(instanceId);
    };
    session.on('error', (err: Error) => {
      drop();
      this.logger.debug({ instanceId, err }, 'h2c session to instance failed');
    });
    session.on('goaway', drop);
    session.on('close', drop);
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // The session closed in the meantime; it is already out of the pool.
      }
    });
    if (this.sessionIdleTimeoutMs > 0) session.setTimeout(this.sessionIdleTimeoutMs, () => session.close());
    // An idle session must not keep the process alive; calls in flight hold their callers' sockets anyway.
    session.unref();
    this.sessions.set(instanceId, { session, host, port });
    return session;
  }
}
