/**
 * Serves HTTP/1.1 and prior-knowledge h2c on one cleartext port.
 *
 * Node's HTTP/2 server only offers an HTTP/1 fallback over TLS (ALPN), and
 * the node API is cleartext behind whatever terminates TLS, yet gRPC clients
 * (h2c) and plain HTTP clients must share port 8081. So the listening socket
 * is a plain `net.Server`: each new connection is read in paused mode until
 * its first bytes either match the HTTP/2 client connection preface
 * (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, RFC 9113 §3.4) or cannot be it; the
 * bytes are pushed back with `socket.unshift()` and the socket is handed to
 * the HTTP/2 or the HTTP/1 server with `emit('connection', socket)`. This is
 * the approach of httptoolkit's httpolyglot, made reliable for HTTP/2 by
 * Node's handling of data already buffered on an injected socket (nodejs/node
 * #41185). A preface split over several TCP segments is accumulated until
 * the decision can be made.
 *
 * With TLS the handshake's ALPN (`h2` or `http/1.1`) makes the choice, and
 * the bytes decide only for a client that offers no ALPN.
 */

import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { acceptTls } from '../server-tls';

/** The 24 bytes every prior-knowledge HTTP/2 client sends first. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Where a sniffed connection goes. */
export interface SniffTargets {
  http1(socket: Socket): void;
  /** `spentMs`: how long the connection took to send its preface. */
  http2(socket: Socket, spentMs: number): void;
}

function ignoreError(): void {
  // The socket is destroyed by Node right after; there is nobody to tell yet.
}

/**
 * Reads the first bytes of `socket` and hands it to `targets.http2` or
 * `targets.http1` with those bytes put back. A connection that has not let
 * the protocol be known `timeoutMs` after its accept is closed, however
 * many bytes it trickled in meanwhile (a byte per second would take 24 s to
 * send the HTTP/2 preface): idle or slow sockets cannot pile up before
 * either server takes charge of its own timeouts. `acceptedAt` is earlier
 * than now when a TLS handshake came first (see `acceptSecureProtocol`).
 */
export function sniffProtocol(socket: Socket, targets: SniffTargets, timeoutMs: number, acceptedAt = Date.now()): void {
  socket.on('error', ignoreError);
  const timer = timeoutMs > 0 ? setTimeout(() => socket.destroy(), timeoutMs) : undefined;
  timer?.unref();
  const onClose = (): void => clearTimeout(timer);
  socket.once('close', onClose);
  readConnectionStart(socket, protocolOf, (data, protocol) => {
    clearTimeout(timer);
    socket.removeListener('close', onClose);
    socket.removeListener('error', ignoreError);
    socket.unshift(data);
    if (protocol === 'h2') targets.http2(socket, Date.now() - acceptedAt);
    else targets.http1(socket);
  });
}

/**
 * The TLS handshake on an accepted connection, then the protocol its ALPN
 * names (sniffed as on a cleartext port when it names none). The head limit
 * `timeoutMs` runs from the accept across the handshake, as it does across
 * sniffing; an HTTP/2 connection is handed over with the time it took.
 */
export function acceptSecureProtocol(raw: Socket, context: SecureContext, targets: SniffTargets, timeoutMs: number): void {
  const acceptedAt = Date.now();
  const timer = timeoutMs > 0 ? setTimeout(() => raw.destroy(), timeoutMs) : undefined;
  timer?.unref();
  const onClose = (): void => clearTimeout(timer);
  raw.once('close', onClose);
  acceptTls(raw, context, ['h2', 'http/1.1'], (socket) => {
    clearTimeout(timer);
    raw.removeListener('close', onClose);
    const spentMs = Date.now() - acceptedAt;
    if (socket.alpnProtocol === 'h2') targets.http2(socket, spentMs);
    else if (socket.alpnProtocol === 'http/1.1') targets.http1(socket);
    else sniffProtocol(socket, targets, timeoutMs > 0 ? Math.max(1, timeoutMs - spentMs) : 0, acceptedAt);
  });
}

/**
 * Reads `socket` (in paused mode) until `decide` returns a decision about the
 * bytes seen so far, then calls `decided` with all of them and the decision;
 * the caller puts them back with `socket.unshift()`. Also used by the gRPC
 * listener, which waits for the preface and its SETTINGS frame.
 */
export function readConnectionStart<T>(socket: Socket, decide: (data: Buffer) => T | undefined, decided: (data: Buffer, decision: T) => void, seen?: Buffer): void {
  const chunk = socket.read() as Buffer | null;
  if (chunk === null) {
    if (socket.destroyed || socket.readableEnded) return;
    socket.once('readable', () => readConnectionStart(socket, decide, decided, seen));
    return;
  }
  const data = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
  const decision = decide(data);
  // Not enough bytes to decide; keep them and wait for more.
  if (decision === undefined) socket.once('readable', () => readConnectionStart(socket, decide, decided, data));
  else decided(data, decision);
}

/** 'h2' or 'http1' once the first bytes show which, undefined while they could still be the HTTP/2 preface. */
function protocolOf(data: Buffer): 'h2' | 'http1' | undefined {
  const n = Math.min(data.length, HTTP2_PREFACE.length);
  if (data.compare(HTTP2_PREFACE, 0, n, 0, n) !== 0) return 'http1';
  return n < HTTP2_PREFACE.length ? undefined : 'h2';
}
