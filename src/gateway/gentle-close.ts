import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';

/** How long a refused upload is drained after its answer before the socket is cut. */
const DRAIN_MS = 2000;

/**
 * Closes an HTTP/1.1 connection after an answer sent before the request body
 * was read (413 for an oversize upload): a FIN, then the rest of the upload is
 * read and dropped for a short while. Destroying the socket at once would make
 * the kernel answer the client's next bytes with a reset, and many clients
 * then report the reset instead of the 413 already in their buffer.
 */
export function closeGently(res: ServerResponse): void {
  const socket = res.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!socket) return;
  res.shouldKeepAlive = false;
  // Node ends a non-keep-alive response with destroySoon(); make that a half-close.
  socket.destroySoon = function (this: Socket) {
    this.end();
  };
  res.once('finish', () => {
    socket.on('data', () => undefined);
    socket.resume();
    setTimeout(() => socket.destroy(), DRAIN_MS).unref();
  });
}
