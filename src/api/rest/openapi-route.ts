import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendMethodNotAllowed, type ExtraHandler } from './http-server';
import { OPENAPI_PATH } from './openapi';

/**
 * Serves the control plane's OpenAPI document at `GET /openapi.json`, built
 * on the first request and kept. It needs no key: it is the same for every
 * caller, holds nothing but what the .proto files say, and a client needs it
 * before it has a key.
 */
export function openApiRoute(document: () => unknown): ExtraHandler {
  let text: string | undefined;
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (url.pathname !== OPENAPI_PATH) return false;
    if (req.method !== 'GET') {
      sendMethodNotAllowed(res, req.method, url.pathname, ['GET']);
      return true;
    }
    text ??= JSON.stringify(document());
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return true;
  };
}
