/**
 * The gRPC port's listening socket, owned by Berth rather than by grpc-js.
 *
 * grpc-js bounds neither how long a new connection may take to send the
 * HTTP/2 client preface nor how slowly it may send it, so a client sending
 * a byte a second holds a file descriptor for as long as it likes. Here each
 * accepted connection must deliver the preface and the SETTINGS frame that
 * completes it (RFC 9113 §3.4; clients send both without waiting for the
 * server) within the head-read limit counted from the accept; only then is
 * it handed to grpc-js through its connection injector, with the bytes read
 * so far put back. Once grpc-js holds the connection, its
 * `grpc.max_connection_idle_ms` closes it with a GOAWAY after the idle limit
 * without an open stream, including before the first call: as in grpc-go's
 * server, a client may connect ahead of its first call.
 *
 * With TLS the handshake runs here too (ALPN `h2`, as gRPC requires), inside
 * the same head-read limit; grpc-js gets the decrypted connection.
 */

import net, { type AddressInfo, type Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { HTTP2_PREFACE, readConnectionStart } from '../gateway/node-api/protocol-sniffer';
import { acceptTls } from '../gateway/server-tls';

/** Bytes of an HTTP/2 frame header: length (3), type (1), flags (1), stream id (4). */
const FRAME_HEADER_BYTES = 9;
const SETTINGS_FRAME_TYPE = 0x4;
/** A client's first SETTINGS frame holds a few 6-byte entries; a larger one is left to grpc-js to judge. */
const MAX_AWAITED_SETTINGS_BYTES = 16_384;

/** The gRPC port: accepts connections and hands each well-started one to grpc-js. */
export interface GrpcListener {
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting and drops connections not yet handed to grpc-js; grpc-js shuts down the rest. */
  close(): void;
}

function ignoreError(): void {
  // A connection that fails before it is handed over has nobody to tell.
}

/**
 * Serves `server` (whose services are added as usual) on a port of Berth's
 * own, over TLS when `tls` is given. `headerTimeoutMs` 0 hands connections
 * over unchecked (after the handshake, with TLS).
 */
export function createGrpcListener(server: Server, headerTimeoutMs: number, tls?: SecureContext): GrpcListener {
  // Insecure to grpc-js: with TLS, what it gets is already decrypted.
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const starting = new Set<Socket>();

  const listener = net.createServer({ noDelay: true }, (raw: Socket) => {
    if (headerTimeoutMs <= 0 && !tls) {
      injector.injectConnection(raw);
      return;
    }
    starting.add(raw);
    raw.on('error', ignoreError);
    // From the accept, across the TLS handshake, to the SETTINGS frame, however slowly it trickles in.
    const timer = headerTimeoutMs > 0 ? setTimeout(() => raw.destroy(), headerTimeoutMs) : undefined;
    timer?.unref();
    const onClose = (): void => {
      clearTimeout(timer);
      starting.delete(raw);
    };
    raw.once('close', onClose);
    /** Hands the connection (cleartext, or TLS over `raw`) to grpc-js once it has started well. */
    const handOver = (socket: Socket): void => {
      const inject = (): void => {
        onClose();
        raw.removeListener('close', onClose);
        if (socket === raw) raw.removeListener('error', ignoreError);
        injector.injectConnection(socket);
      };
      if (headerTimeoutMs <= 0) return inject();
      readConnectionStart(socket, isStartComplete, (data) => {
        socket.unshift(data);
        inject();
      });
    };
    if (tls) acceptTls(raw, tls, ['h2'], handOver);
    else handOver(raw);
  });

  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(port, host, () => {
          listener.removeListener('error', reject);
          resolve((listener.address() as AddressInfo).port);
        });
      }),
    close: () => {
      listener.close();
      for (const socket of starting) socket.destroy();
    },
  };
}

/**
 * True once `data` holds the preface and a whole first SETTINGS frame, or
 * cannot become that (grpc-js then answers the malformed start itself);
 * undefined while more bytes are needed.
 */
function isStartComplete(data: Buffer): true | undefined {
  const n = Math.min(data.length, HTTP2_PREFACE.length);
  if (data.compare(HTTP2_PREFACE, 0, n, 0, n) !== 0) return true;
  const frameStart = HTTP2_PREFACE.length;
  if (data.length < frameStart + FRAME_HEADER_BYTES) return undefined;
  const length = data.readUIntBE(frameStart, 3);
  const type = data[frameStart + 3];
  if (type !== SETTINGS_FRAME_TYPE || length > MAX_AWAITED_SETTINGS_BYTES) return true;
  return data.length >= frameStart + FRAME_HEADER_BYTES + length ? true : undefined;
}
