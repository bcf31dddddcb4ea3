/**
 * How long a caller's connection may hold one of Berth's file descriptors
 * without doing anything useful, on every listener (REST, node API, gRPC).
 *
 * Without these bounds a client that opens connections and sends a byte now
 * and then (or nothing) keeps each one open for as long as it likes, and a
 * few thousand such connections exhaust the process's file descriptors.
 */

import type http from 'node:http';

/** The two bounds every listener applies to its callers' connections. */
export interface ConnectionTimeouts {
  /**
   * A request's head must arrive within this time: from the connection's
   * accept (or, on a reused HTTP/1.1 connection, from the request's first
   * byte) to the end of the request headers; for HTTP/2 the client preface
   * and its SETTINGS frame (on the node API: up to the first request's
   * HEADERS). Bytes trickling in do not extend it. 0 disables.
   */
  headerTimeoutMs: number;
  /**
   * A connection with no call in progress (an HTTP/1.1 keep-alive connection
   * between requests, an HTTP/2 connection without an open stream) is closed
   * after this time. A call in progress, however long, is never idle. 0 disables.
   */
  idleTimeoutMs: number;
}

/**
 * 10 s for a request head is far more than any client on a working network
 * needs; 65 s of idleness outlives common client pool idle times (60 s for
 * many load balancers), so a pooled connection is closed by its client
 * rather than under a request the client is just sending.
 */
export const DEFAULT_CONNECTION_TIMEOUTS: ConnectionTimeouts = { headerTimeoutMs: 10_000, idleTimeoutMs: 65_000 };

/**
 * Options of a Node `http.Server` that apply `timeouts`: Node answers 408
 * and closes a connection whose request head is late, and closes a
 * keep-alive connection idle for `idleTimeoutMs` (plus Node's own one-second
 * margin). Node checks head deadlines on a periodic sweep (every 30 s by
 * default, so a 10 s limit would hold for up to 40 s); the sweep here runs
 * four times per limit, at most once a second. `requestTimeoutMs` bounds a
 * whole request, body included (0: none); Node requires it to be at least
 * the head limit.
 */
export function http1TimeoutOptions(timeouts: ConnectionTimeouts, requestTimeoutMs: number): http.ServerOptions {
  const { headerTimeoutMs, idleTimeoutMs } = timeouts;
  return {
    headersTimeout: headerTimeoutMs,
    requestTimeout: requestTimeoutMs === 0 ? 0 : Math.max(requestTimeoutMs, headerTimeoutMs),
    keepAliveTimeout: idleTimeoutMs,
    ...(headerTimeoutMs > 0 ? { connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headerTimeoutMs / 4))) } : {}),
  };
}

/**
 * Makes an `http.Server` that never listens itself (its connections are
 * handed over with `emit('connection', socket)` by a listener that sniffs the
 * protocol first) track those connections as a listening one does. Node
 * starts that tracking only on `'listening'`; without it the head timeout is
 * never checked and `closeIdleConnections()` finds nothing to close.
 */
export function trackHandedOverConnections(server: http.Server): void {
  server.emit('listening');
}
