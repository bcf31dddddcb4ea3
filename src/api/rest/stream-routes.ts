import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import { guard, type CallContext } from '../adapter';
import type { Logger } from '../../logger';
import { toStatusError } from '../status';
import { callerSignal, errorJson, sendError, sendMethodNotAllowed, type ExtraHandler } from './http-server';
import { findRoute, requestJson, transcodeStream, type Route } from './transcoder';

/**
 * Paths of unary methods that answer as a stream when `follow=true` is in
 * the query: the path of the list method, answered by the streaming method
 * of the same resource (`GET /v1/nodes/{id}/logs?follow=true` is StreamNodeLogs).
 */
const FOLLOW_PATHS: Array<{ pattern: RegExp; streamPath: (m: RegExpExecArray) => string }> = [
  { pattern: /^\/v1\/nodes\/([^/:]+)\/logs$/, streamPath: (m) => `/v1/nodes/${m[1]}/logs:stream` },
];

/**
 * The REST face of server-streaming methods, beside the transcoder (which
 * answers once): newline-delimited JSON, one proto3 JSON message per line,
 * or server-sent events (`data: <message>`) when the caller accepts
 * `text/event-stream` (a browser's EventSource does). Each line is written
 * as soon as the method sends it. The call goes through the same chokepoint
 * and access check as every method; a failure before the first message is
 * answered with its HTTP status, one after it ends the stream with a last
 * line `{"error": {…}}` (an `event: error` for server-sent events).
 */
export function streamRoutes(routes: () => Route[], registry: Registry, log: Logger): ExtraHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean> => {
    let path = url.pathname;
    const query = new URLSearchParams(url.search);
    for (const f of FOLLOW_PATHS) {
      const m = f.pattern.exec(path);
      if (!m) continue;
      if (query.get('follow') === 'true') path = f.streamPath(m);
      // `follow=false` is the listing itself, which has no such field.
      else if (query.get('follow') === 'false') url.searchParams.delete('follow');
    }
    const found = findRoute(routes(), req.method ?? 'GET', path);
    if (found === undefined) return false;
    if ('allow' in found) {
      sendMethodNotAllowed(res, req.method, url.pathname, found.allow);
      return true;
    }
    const sse = /\btext\/event-stream\b/.test(req.headers.accept ?? '');
    const ctx: CallContext = {
      requestId,
      log: log.child({ requestId }),
      signal: callerSignal(res),
      headers: Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
    };
    const write = async (chunk: string): Promise<void> => {
      if (!res.headersSent) {
        res.writeHead(200, { 'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': requestId });
        // The stream is open for the caller before its first line, which may be long in coming.
        res.flushHeaders();
      }
      if (chunk === '') return;
      if (!res.write(chunk)) await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    try {
      await guard(found.route.method.path, ctx, async () => {
        ctx.caller = await found.route.method.guardian.callerOf(ctx.headers);
        const json = requestJson(found.route, found.vars, query, undefined);
        ctx.opened = () => void write('');
        await transcodeStream(found.route, registry, json, ctx, (message: JsonValue) => write(sse ? `data: ${JSON.stringify(message)}\n\n` : `${JSON.stringify(message)}\n`));
      });
      res.end();
    } catch (err) {
      if (!res.headersSent) {
        sendError(req, res, registry, err);
      } else if (!res.destroyed) {
        const error = JSON.stringify(errorJson(registry, toStatusError(err)));
        res.end(sse ? `event: error\ndata: ${error}\n\n` : `{"error":${error}}\n`);
      }
    }
    return true;
  };
}
