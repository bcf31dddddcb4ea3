/**
 * TLS on Berth's listeners. The gRPC port and the node API own their
 * listening sockets (to bound how long a connection may take to start, and
 * to choose a protocol per connection), so TLS is layered on each accepted
 * socket here rather than by a `tls.Server`; the REST port is a plain
 * `https.Server`.
 */

import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';

/** The certificate chain and private key every listener presents (PEM). */
export interface TlsIdentity {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${flag} ${file}: cannot be read: ${(err as Error).message}`);
  }
}

/**
 * Reads and checks the certificate and key files: both must be readable PEM
 * and the key must match the certificate, so a mistake stops `berth serve`
 * at start instead of failing every handshake later.
 */
export function loadTlsIdentity(certFile: string, keyFile: string): TlsIdentity {
  const identity = { certFile, keyFile, cert: readPem('--tls-cert', certFile), key: readPem('--tls-key', keyFile) };
  try {
    tls.createSecureContext({ cert: identity.cert, key: identity.key });
  } catch (err) {
    throw new Error(`--tls-cert ${certFile} and --tls-key ${keyFile} are not a usable PEM certificate and matching private key: ${(err as Error).message}`);
  }
  return identity;
}

/** The context the listeners' handshakes use. */
export function secureContextOf(identity: TlsIdentity): SecureContext {
  return tls.createSecureContext({ cert: identity.cert, key: identity.key });
}

function ignoreError(): void {
  // A failed handshake (an untrusted certificate, a cleartext client) or a
  // reset ends the connection; whoever serves it sees it close. An HTTP/2
  // session does not handle its TLS socket's errors (nodejs/node#35824), so
  // this listener stays.
}

/**
 * Runs the server side of a TLS handshake on an accepted connection and
 * calls `secured` with the TLS socket once it completes; a failed handshake
 * closes the connection. ALPN offers `alpnProtocols` (in order of
 * preference). Deadlines are the caller's: destroying `raw` ends the TLS
 * socket too.
 */
export function acceptTls(raw: Socket, context: SecureContext, alpnProtocols: string[], secured: (socket: TLSSocket) => void): void {
  raw.on('error', ignoreError);
  const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: alpnProtocols });
  socket.on('error', ignoreError);
  socket.once('secure', () => {
    // What `tls.Server` sets before 'secureConnection': an HTTP/2 session on a
    // socket still marked as connecting waits for an event a server socket never emits.
    (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
    secured(socket);
  });
}
