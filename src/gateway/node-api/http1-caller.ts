/**
 * An HTTP/1.1 caller: `IncomingMessage` in, `ServerResponse` out. Errors are
 * a JSON body with the mapped HTTP status, or for a gRPC-typed request a
 * 200 carrying `grpc-status` in its head (HTTP/1.1 has no trailers-only
 * form). A refusal sent before the body was read closes the connection, so
 * that an oversized upload is not read to its end just to keep the
 * connection alive.
 */

import { closeGently } from '../gentle-close';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { errorJson, type Caller, type CallerListener } from './caller';
import { encodeGrpcMessage } from './grpc-status';
import { isGrpcContentType, toHttp1ResponseHeaders } from './proxy-headers';
import type { NodeApiError } from './resolver';

/** The caller side of one HTTP/1.1 request. */
export class Http1Caller implements Caller {
  readonly protocol = 'http1';
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly grpc: boolean;
  readonly bodyEmpty: boolean;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.method = req.method ?? 'GET';
    this.path = req.url ?? '/';
    this.headers = req.headers;
    this.grpc = isGrpcContentType(req.headers['content-type']);
    const length = req.headers['content-length'];
    this.bodyEmpty = req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
  }

  get body(): IncomingMessage {
    return this.req;
  }

  get responseBody(): ServerResponse {
    return this.res;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  listen(listener: CallerListener): void {
    this.res.once('close', () => listener.onCallerClosed());
  }

  respond(status: number, statusMessage: string | undefined, headers: IncomingHttpHeaders, endStream: boolean, added?: Record<string, string>): boolean {
    this.res.writeHead(status, statusMessage, toHttp1ResponseHeaders(headers, added));
    if (!endStream) return true;
    this.res.end();
    return false;
  }

  finish(trailers: IncomingHttpHeaders | undefined): void {
    // Trailers travel only with a chunked body; Node drops them otherwise.
    if (trailers !== undefined && this.res.chunkedEncoding) this.res.addTrailers(trailers as Record<string, string>);
    this.res.end();
  }

  fail(error: NodeApiError, added?: Record<string, string>): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (res.headersSent) {
      // Part of the body is out: only a broken connection tells the caller it is truncated.
      res.destroy();
      return;
    }
    if (!this.bodyEmpty && !this.req.complete) closeGently(res);
    const retry = error.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {};
    if (this.grpc) {
      res.writeHead(200, {
        ...added,
        'content-type': 'application/grpc',
        'grpc-status': String(error.code),
        'grpc-message': encodeGrpcMessage(error.message),
        'content-length': '0',
        ...retry,
      });
      res.end();
      return;
    }
    const body = errorJson(error);
    res.writeHead(error.httpStatus, {
      ...added,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...retry,
    });
    res.end(body);
  }
}
