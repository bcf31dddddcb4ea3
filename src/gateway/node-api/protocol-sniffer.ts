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
 */

import type { Socket } from 'node:net';

/** The 24 bytes every prior-knowledge HTTP/2 client sends first. */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Where a sniffed connection goes. */
export interface SniffTargets {
  http1(socket: Socket): void;
  http2(socket: Socket): void;
}

function ignoreError(): void {
  // The socket is destroyed by Node right after; there is nobody to tell yet.
}

/**
 * Reads the first bytes of `socket` and hands it to `targets.http2` or
 * `targets.http1` with those bytes put back. A connection that sends nothing
 * within `timeoutMs` is closed, so idle sockets cannot pile up before either
 * server takes charge of its own timeouts.
 */
export function sniffProtocol(socket: Socket, targets: SniffTargets, timeoutMs: number): void {
  socket.on('error', ignoreError);
  if (timeoutMs > 0) {
    socket.setTimeout(timeoutMs);
    socket.once('timeout', onSniffTimeout);
  }
  readPrefix(socket, targets, undefined);
}

function onSniffTimeout(this: Socket): void {
  this.destroy();
}

function readPrefix(socket: Socket, targets: SniffTargets, seen: Buffer | undefined): void {
  const chunk = socket.read() as Buffer | null;
  if (chunk === null) {
    if (socket.destroyed || socket.readableEnded) return;
    socket.once('readable', () => readPrefix(socket, targets, seen));
    return;
  }
  const data = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
  const n = Math.min(data.length, HTTP2_PREFACE.length);
  const couldBeHttp2 = data.compare(HTTP2_PREFACE, 0, n, 0, n) === 0;
  if (couldBeHttp2 && n < HTTP2_PREFACE.length) {
    // Not enough bytes to decide; keep them and wait for more.
    socket.once('readable', () => readPrefix(socket, targets, data));
    return;
  }
  handOver(socket, data);
  if (couldBeHttp2) targets.http2(socket);
  else targets.http1(socket);
}

function handOver(socket: Socket, data: Buffer): void {
  socket.removeListener('error', ignoreError);
  socket.removeListener('timeout', onSniffTimeout);
  socket.setTimeout(0);
  socket.unshift(data);
}
