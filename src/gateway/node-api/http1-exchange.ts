/**
 * An exchange with an HTTP/1.1 instance through the shared keep-alive agent.
 *
 * The request body is not piped until the socket is connected: a failed
 * connect then leaves the caller's body unread, which is what makes resending
 * the call to another instance safe without buffering anything. A pooled
 * socket that the instance had closed while idle fails with ECONNRESET on
 * reuse (`req.reusedSocket`); Node documents resending in that case, and the
 * proxy does so when no body byte was consumed yet.
 */

import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Caller } from './caller';
import { toHttp1RequestHeaders } from './proxy-headers';
import type { Backend } from './resolver';
import { isResetError, type ExchangeListener, type UpstreamExchange } from './upstream-exchange';

/** One request to an HTTP/1.1 instance, on a pooled keep-alive socket. */
export class Http1Exchange implements UpstreamExchange {
  readonly requestBody: ClientRequest;
  private response: IncomingMessage | undefined;
  private connected = false;
  private settled = false;

  constructor(
    agent: http.Agent,
    backend: Backend,
    private readonly caller: Caller,
    private readonly listener: ExchangeListener,
    private readonly idleTimeoutMs: number,
  ) {
    this.requestBody = http.request({
      agent,
      host: backend.host,
      port: backend.port,
      method: caller.method,
      path: caller.path,
      headers: toHttp1RequestHeaders(caller.headers),
    });
  }

  start(): void {
    const req = this.requestBody;
    req.on('socket', (socket: Socket) => {
      if (socket.connecting) socket.once('connect', () => this.onConnect());
      else this.onConnect();
    });
    req.on('response', (res: IncomingMessage) => this.onResponse(res));
    req.on('error', (err: Error) => this.onRequestError(err));
    if (this.idleTimeoutMs > 0) req.setTimeout(this.idleTimeoutMs, () => this.onIdle());
    if (this.caller.bodyEmpty) req.end();
  }

  abort(): void {
    if (this.settled) return;
    this.settled = true;
    this.requestBody.destroy();
    this.response?.destroy();
  }

  private onConnect(): void {
    this.connected = true;
    if (!this.settled && !this.caller.bodyEmpty) this.listener.onUpstreamReady();
  }

  private onIdle(): void {
    if (!this.settled) this.listener.onUpstreamIdle();
  }

  private onRequestError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    let failure: 'connect' | 'refused' | 'other' = 'other';
    if (this.response === undefined) {
      if (!this.connected) failure = 'connect';
      else if (this.requestBody.reusedSocket && isResetError(err)) failure = 'refused';
      // A fresh connection reset before any answer: the instance is going away (Docker's port
      // proxy accepts for a container that just died). A call without a body is safe to resend.
      else if (isResetError(err) && this.caller.bodyEmpty) failure = 'connect';
    }
    this.listener.onUpstreamError(err, failure);
  }

  private onResponse(res: IncomingMessage): void {
    if (this.settled) {
      res.destroy();
      return;
    }
    this.response = res;
    res.on('end', () => {
      if (this.settled) return;
      this.settled = true;
      this.listener.onUpstreamEnd(res.rawTrailers.length > 0 ? res.trailers : undefined);
    });
    res.on('error', (err: Error) => this.onResponseAborted(err));
    res.on('close', () => this.onResponseAborted(undefined));
    this.listener.onUpstreamResponse(res.statusCode ?? 502, res.statusMessage, res.headers, res, false);
  }

  private onResponseAborted(err: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.listener.onUpstreamError(err ?? new Error('the instance closed the connection before the end of its response'), 'other');
  }
}
