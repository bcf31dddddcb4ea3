/**
 * An exchange with an h2c instance: one stream on the instance's pooled
 * HTTP/2 session. Trailers (`grpc-status`, `grpc-message`, custom ones) are
 * kept and handed over at the end of the body; a trailers-only response
 * (HEADERS with END_STREAM) is reported as such so the caller gets exactly
 * that shape too, which gRPC clients rely on.
 *
 * As with HTTP/1.1, the request body waits for the session to be connected,
 * so a refused connection leaves it unread and the call can go elsewhere.
 */

import {
  constants as h2,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
} from 'node:http2';
import type { Caller } from './caller';
import { toHttp2RequestHeaders } from './proxy-headers';
import type { ExchangeListener, UpstreamExchange, UpstreamFailure } from './upstream-exchange';

const END_STREAM = { endStream: true } as const;

/** One stream to an h2c instance, on its pooled session. */
export class Http2Exchange implements UpstreamExchange {
  private stream: ClientHttp2Stream | undefined;
  private trailers: IncomingHttpHeaders | undefined;
  private sessionConnected: boolean;
  private responded = false;
  private settled = false;

  constructor(
    private readonly session: ClientHttp2Session,
    private readonly caller: Caller,
    private readonly listener: ExchangeListener,
    private readonly idleTimeoutMs: number,
  ) {
    this.sessionConnected = !session.connecting;
  }

  get requestBody(): ClientHttp2Stream {
    if (this.stream === undefined) throw new Error('the exchange has not started');
    return this.stream;
  }

  start(): void {
    const caller = this.caller;
    const headers = toHttp2RequestHeaders(caller.headers, caller.method, caller.path, caller.grpc);
    const stream = this.session.request(headers, caller.bodyEmpty ? END_STREAM : undefined);
    this.stream = stream;
    stream.on('response', (head: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) =>
      this.onResponse(stream, head, flags),
    );
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      this.trailers = trailers;
    });
    stream.on('end', () => this.onEnd());
    stream.on('error', (err: Error) => this.onError(stream, err));
    stream.on('close', () => this.onClose(stream));
    if (this.idleTimeoutMs > 0) stream.setTimeout(this.idleTimeoutMs, () => this.onIdle());
    if (caller.bodyEmpty) return;
    if (this.sessionConnected) {
      this.listener.onUpstreamReady();
    } else {
      this.session.once('connect', () => {
        this.sessionConnected = true;
        if (!this.settled) this.listener.onUpstreamReady();
      });
    }
  }

  abort(): void {
    if (this.settled) return;
    this.settled = true;
    this.stream?.close(h2.NGHTTP2_CANCEL);
  }

  private onResponse(stream: ClientHttp2Stream, head: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number): void {
    if (this.settled) return;
    this.responded = true;
    const endStream = (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0;
    this.listener.onUpstreamResponse(head[':status'] ?? 502, undefined, head, stream, endStream);
  }

  private onEnd(): void {
    if (this.settled) return;
    this.settled = true;
    this.listener.onUpstreamEnd(this.trailers);
  }

  private onIdle(): void {
    if (!this.settled) this.listener.onUpstreamIdle();
  }

  private onError(stream: ClientHttp2Stream, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.listener.onUpstreamError(err, this.classify(stream, err));
  }

  private onClose(stream: ClientHttp2Stream): void {
    if (this.settled) return;
    this.settled = true;
    const error = new Error(`the instance closed the stream before its end (HTTP/2 code ${stream.rstCode ?? 0})`);
    this.listener.onUpstreamError(error, this.classify(stream, error));
  }

  private classify(stream: ClientHttp2Stream, err: Error): UpstreamFailure {
    if (this.responded) return 'other';
    if (!this.sessionConnected) return 'connect';
    if (stream.rstCode === h2.NGHTTP2_REFUSED_STREAM) return 'refused';
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_HTTP2_GOAWAY_SESSION') return 'refused';
    return 'other';
  }
}
