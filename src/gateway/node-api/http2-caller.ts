/**
 * An HTTP/2 caller: one `ServerHttp2Stream`. Every relayed response is sent
 * with `waitForTrailers`, because whether an instance ends with trailers
 * (gRPC always does) is only known at its end; when it sent none, Node turns
 * the empty trailer set into an empty DATA frame with END_STREAM. Errors are
 * JSON for HTTP callers and, for gRPC callers, a trailers-only response (one
 * HEADERS frame with `:status 200`, `grpc-status`, `grpc-message` and
 * END_STREAM), or trailers after a body already started.
 */

import { constants as h2, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { errorJson, type Caller, type CallerListener } from './caller';
import { encodeGrpcMessage } from './grpc-status';
import { isGrpcContentType, toHttp2ResponseHeaders } from './proxy-headers';
import type { NodeApiError } from './resolver';

const WAIT_FOR_TRAILERS = { waitForTrailers: true } as const;
const END_STREAM = { endStream: true } as const;
const NO_TRAILERS: OutgoingHttpHeaders = {};

/** The caller side of one HTTP/2 stream. */
export class Http2Caller implements Caller {
  readonly protocol = 'http2';
  readonly method: string;
  readonly path: string;
  readonly grpc: boolean;
  readonly bodyEmpty: boolean;
  private trailers: OutgoingHttpHeaders | undefined;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.method = headers[':method'] ?? 'GET';
    this.path = headers[':path'] ?? '/';
    this.grpc = isGrpcContentType(headers['content-type']);
    this.bodyEmpty = stream.endAfterHeaders;
  }

  get body(): ServerHttp2Stream {
    return this.stream;
  }

  get responseBody(): ServerHttp2Stream {
    return this.stream;
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  get closed(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  listen(listener: CallerListener): void {
    this.stream.once('close', () => listener.onCallerClosed());
  }

  respond(status: number, _statusMessage: string | undefined, headers: IncomingHttpHeaders, endStream: boolean, added?: Record<string, string>): boolean {
    const out = toHttp2ResponseHeaders(headers, status, added);
    if (endStream || this.method === 'HEAD' || status === 204 || status === 304) {
      this.stream.respond(out, END_STREAM);
      this.stopBody();
      return false;
    }
    this.stream.respond(out, WAIT_FOR_TRAILERS);
    this.stream.once('wantTrailers', () => this.sendTrailers());
    return true;
  }

  finish(trailers: IncomingHttpHeaders | undefined): void {
    this.trailers = trailers as OutgoingHttpHeaders | undefined;
    this.stream.end();
  }

  fail(error: NodeApiError, added?: Record<string, string>): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      const retry = error.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {};
      if (this.grpc) {
        stream.respond(
          {
            ...added,
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': String(error.code),
            'grpc-message': encodeGrpcMessage(error.message),
            ...retry,
          },
          END_STREAM,
        );
      } else {
        const body = errorJson(error);
        stream.respond({
          ...added,
          ':status': error.httpStatus,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...retry,
        });
        stream.end(body);
      }
      this.stopBody();
      return;
    }
    if (this.grpc && !stream.writableEnded) {
      // The head is out but the trailers are not: a gRPC caller can still get a proper status.
      this.trailers = { 'grpc-status': String(error.code), 'grpc-message': encodeGrpcMessage(error.message) };
      stream.end();
      return;
    }
    stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  }

  private sendTrailers(): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    try {
      stream.sendTrailers(this.trailers ?? NO_TRAILERS);
    } catch {
      stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    this.stopBody();
  }

  /**
   * Once the response is complete, a caller still sending its body is told
   * to stop (RST_STREAM NO_ERROR, RFC 9113 §8.1) rather than left blocked on
   * flow control for a body nobody will read. What it had already sent is
   * discarded: Node frees a stream only after its readable side ended.
   */
  private stopBody(): void {
    const stream = this.stream;
    if (stream.readableEnded || this.bodyEmpty) return;
    stream.close(h2.NGHTTP2_NO_ERROR);
    stream.resume();
  }
}
