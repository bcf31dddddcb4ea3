import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import { nodeOpenApi } from '../node-openapi';
import type { TypedNode } from '../node-typed-api';
import { guard, type CallContext } from '../adapter';
import { nodeProtoSource, type WireValue } from '../../domain/variables';
import type { Logger } from '../../logger';
import { parseJsonExact } from '../../domain/exact-json';
import { TypedMessages } from '../typed-json';
import { callerSignal, parseJsonBody, sendError, sendJson, sendMethodNotAllowed, type ExtraHandler } from './http-server';
import { readBody, requireJsonContentType } from './read-body';

export interface TypedRouteDeps {
  registry: Registry;
  /** The checkpoint node with this id (throws NotFoundError, or FailedPreconditionError for a Docker node). */
  node(nodeId: string): Promise<TypedNode>;
  run(nodeId: string, input: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, WireValue>>;
  maxBodyBytes: number;
  log: Logger;
  /**
   * Throws unless the caller with this `authorization` may read (the .proto,
   * OpenAPI) or call the node; a call as the folder in `x-folder-id`, when sent.
   */
  authorize(authorization: string | undefined, nodeId: string, action: 'read' | 'call', viaFolderId?: string): Promise<void>;
}

const ROUTE = /^\/v1\/nodes\/([a-z0-9]{1,64})\/(api\.proto|openapi\.json|api:execute)$/;

/** The JSON body of a typed call ({} when empty), integers beyond 2^53 kept exact as strings. */
async function readExactJsonBody(req: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  return parseJsonBody(await readBody(req, maxBodyBytes), false, parseJsonExact) ?? {};
}

/**
 * The REST side of each checkpoint node's generated API: its `.proto`, its
 * OpenAPI document, and the typed route: the request message as the body and
 * the response message as the answer, both in protobuf JSON (the encoding
 * grpc-gateway and every protobuf runtime use for them).
 */
export function typedRoutes(deps: TypedRouteDeps): ExtraHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean> => {
    const m = ROUTE.exec(url.pathname);
    if (!m) return false;
    const [, nodeId, what] = m as unknown as [string, string, string];
    const method = what === 'api:execute' ? 'POST' : 'GET';
    if (req.method !== method) {
      sendMethodNotAllowed(res, req.method, url.pathname, [method]);
      return true;
    }
    const signal = callerSignal(res);
    const ctx: CallContext = { requestId, log: deps.log.child({ requestId }), signal, headers: {} };
    try {
      await guard(`typed route ${what} of ${nodeId}`, ctx, async () => {
        // A body that is not JSON is refused before anything is looked up.
        if (what === 'api:execute') requireJsonContentType(req.headers);
        const via = req.headers['x-folder-id'];
        await deps.authorize(req.headers.authorization, nodeId, what === 'api:execute' ? 'call' : 'read', typeof via === 'string' && via !== '' ? via : undefined);
        if (what === 'api:execute') {
          const body = await readExactJsonBody(req, deps.maxBodyBytes);
          const messages = TypedMessages.of(await deps.node(nodeId));
          const request = messages.requestFromJson(body);
          const outputs = await deps.run(nodeId, messages.inputsOf(request), signal);
          sendJson(res, 200, messages.responseToJson(messages.responseOf(nodeId, outputs)));
          return;
        }
        const node = await deps.node(nodeId);
        if (what === 'openapi.json') {
          sendJson(res, 200, nodeOpenApi(node) as JsonValue);
        } else {
          const text = nodeProtoSource(node);
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        }
      });
    } catch (err) {
      sendError(req, res, deps.registry, err);
    }
    return true;
  };
}
