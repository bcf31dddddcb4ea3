/**
 * The instance's side of one proxied call, whichever protocol the instance
 * speaks. `http1-exchange.ts` and `http2-exchange.ts` implement it; the
 * proxy logic reacts to the events below and never touches a socket.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';

/**
 * Why an exchange failed, as far as retrying is concerned:
 * - `connect`: no connection to the instance could be made, so it received
 *   nothing; it is reported to the resolver and the call may go elsewhere;
 * - `refused`: the instance provably or very probably did not process the
 *   request (HTTP/2 REFUSED_STREAM or GOAWAY, or a reset of a reused
 *   keep-alive connection before any response), so the call may be resent;
 * - `other`: anything else; the call is not resent.
 */
export type UpstreamFailure = 'connect' | 'refused' | 'other';

/** What an exchange reports, in order: ready?, response, end | error | idle. */
export interface ExchangeListener {
  /** The connection is up: the request body may start flowing (only called for requests with a body). */
  onUpstreamReady(): void;
  /** The response head arrived; `endStream` when it is the whole response. */
  onUpstreamResponse(
    status: number,
    statusMessage: string | undefined,
    headers: IncomingHttpHeaders,
    body: Readable,
    endStream: boolean,
  ): void;
  /** The response body ended, with its trailers if any. */
  onUpstreamEnd(trailers: IncomingHttpHeaders | undefined): void;
  onUpstreamError(error: Error, failure: UpstreamFailure): void;
  /** Nothing moved either way for the idle timeout. */
  onUpstreamIdle(): void;
}

/** One attempt of a call against one instance. */
export interface UpstreamExchange {
  /** Where the request body is written. */
  readonly requestBody: Writable;
  /** Sends the request head (and ends an empty request); events follow. */
  start(): void;
  /** Cancels the exchange; no event follows. A no-op once it has ended or failed. */
  abort(): void;
}

/** Connection errors that mean "the peer closed on us", as opposed to a refusal or a timeout. */
export function isResetError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * Node's synchronous refusal to open a stream on an HTTP/2 session that is
 * closing or gone: nothing was sent, so the call may be resent.
 */
export function isSessionGone(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION';
}
