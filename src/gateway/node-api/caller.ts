/**
 * The caller's side of one proxied call, whichever HTTP version it arrived
 * on. The proxy logic (routing, retry, limits, timeouts) is written once
 * against this interface; `http1-caller.ts` and `http2-caller.ts` render its
 * operations for their protocol, including the two shapes of an error
 * (JSON for HTTP, a trailers-only response for gRPC).
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { NodeApiError } from './resolver';

/** Told by a caller when its side of the exchange is over (finished, reset or disconnected). */
export interface CallerListener {
  onCallerClosed(): void;
}

/** One call as its caller sees it; see the file comment. */
export interface Caller {
  readonly protocol: 'http1' | 'http2';
  readonly method: string;
  readonly path: string;
  /** As received: pseudo-headers included for HTTP/2. */
  readonly headers: IncomingHttpHeaders;
  /** `content-type: application/grpc*`: errors are answered the gRPC way. */
  readonly grpc: boolean;
  /** The request has no body at all, so it can be sent (and resent) without reading anything. */
  readonly bodyEmpty: boolean;
  /** The request body, untouched until the proxy pipes it. */
  readonly body: Readable;
  /** Where the response body goes. */
  readonly responseBody: Writable;
  readonly headersSent: boolean;
  /** The caller is gone or its response is complete: nothing more can be sent. */
  readonly closed: boolean;

  /** Registers the one listener told when the caller's side closes. */
  listen(listener: CallerListener): void;
  /**
   * Sends the response head relayed from the instance (or Berth's own answer
   * to a CORS preflight), with Berth's own headers `added` (who answered,
   * its CORS grant to a listed origin). `endStream` when the instance sent no body (for gRPC, a
   * trailers-only response), so the head alone completes the response.
   * Returns whether the caller takes a body (false also for HEAD, 204 and
   * 304 over HTTP/2, which end with the head).
   */
  respond(status: number, statusMessage: string | undefined, headers: IncomingHttpHeaders, endStream: boolean, added?: Record<string, string>): boolean;
  /** Completes the response after its body, with the instance's trailers if it sent any. */
  finish(trailers: IncomingHttpHeaders | undefined): void;
  /**
   * Ends the call with an error: a complete error response when no head was
   * sent yet; otherwise, for gRPC over HTTP/2, trailers carrying the code,
   * and for anything else a reset (a truncated body must not look complete).
   * `added` (the node's id when known, Berth's CORS grant to a listed
   * origin) goes on a complete error response.
   */
  fail(error: NodeApiError, added?: Record<string, string>): void;
}

/** The JSON body HTTP callers get for a refusal, as grpc-gateway's: `{"code":5,"message":"node X not found","details":[]}`. */
export function errorJson(error: NodeApiError): string {
  return JSON.stringify({ code: error.code, message: error.message, details: error.details });
}
