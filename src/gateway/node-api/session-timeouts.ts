/**
 * Head-read and idle limits of an h2c caller's session on the node API.
 *
 * Node's HTTP/2 server has no such limits of its own (its `timeout` counts
 * any frame as activity, so it would cut a long call that sends nothing
 * for a while and spare a client that sends a PING now and then). An
 * HTTP/2 connection is idle when it has no open stream, as an HTTP/1.1 one
 * is between requests; its first request must arrive as an HTTP/1.1 one's
 * head must, within the head limit counted from the accept.
 */

import type { Http2Session, ServerHttp2Stream } from 'node:http2';

/** How long a session told to go away may take to finish before it is cut. */
const GOAWAY_GRACE_MS = 1000;

/**
 * Closes `session` with a GOAWAY when no stream has opened within
 * `firstStreamWithinMs` of its start, or when it has had no open stream for
 * `idleTimeoutMs`. A stream open, however long, keeps the session. Either
 * limit may be 0 (none); without a first-stream limit the idle one applies
 * from the start.
 */
export function enforceSessionTimeouts(session: Http2Session, firstStreamWithinMs: number, idleTimeoutMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const expire = (): void => {
    timer = undefined;
    if (open === 0) goAway(session);
  };
  const arm = (ms: number): void => {
    if (ms <= 0 || session.closed || session.destroyed) return;
    timer = setTimeout(expire, ms);
    timer.unref();
  };
  const onStreamClose = (): void => {
    open--;
    if (open === 0) arm(idleTimeoutMs);
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    timer = undefined;
    stream.once('close', onStreamClose);
  });
  session.once('close', () => clearTimeout(timer));
  arm(firstStreamWithinMs > 0 ? firstStreamWithinMs : idleTimeoutMs);
}

/**
 * GOAWAY, so that a client racing a new request against the close learns
 * that it was not processed and may retry it; then the socket is cut if
 * the session has not ended by itself.
 */
function goAway(session: Http2Session): void {
  if (session.closed || session.destroyed) return;
  session.close();
  const cut = setTimeout(() => session.destroy(), GOAWAY_GRACE_MS);
  cut.unref();
  session.once('close', () => clearTimeout(cut));
}
