import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import { aliasOpenApi, nodeOpenApi } from '../node-openapi';
import type { TypedAlias, TypedNode } from '../node-typed-api';
import { guard, type CallContext } from '../adapter';
import { aliasProtoSource, nodeProtoSource, type WireValue } from '../../domain/variables';
import type { Logger } from '../../logger';
import { parseJsonExact } from '../../domain/exact-json';
import { TypedMessages } from '../typed-json';
import { currentCall } from '../../observability/observed-call';
import { callerSignal, parseJsonBody, sendError, sendJson, sendMethodNotAllowed, type ExtraHandler } from './http-server';
import { readBody, requireJsonContentType } from './read-body';

export interface TypedRouteDeps {
  registry: Registry;
  /** The checkpoint node with this id (throws NotFoundError, or FailedPreconditionError for a Docker node). */
  node(nodeId: string): Promise<TypedNode>;
  run(nodeId: string, input: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, WireValue>>;
  /** The alias with this id in front of checkpoint nodes (throws NotFoundError, or FailedPreconditionError for an alias of Docker nodes). */
  alias(aliasId: string): Promise<TypedAlias>;
  /** A call through the alias: the outputs and the node it picked. */
  runAlias(aliasId: string, input: Record<string, unknown>, signal: AbortSignal): Promise<{ outputs: Record<string, WireValue>; nodeId: string }>;
  maxBodyBytes: number;
  log: Logger;
  /**
   * Throws unless the caller with this `authorization` may read (the .proto,
   * OpenAPI) or call the node; a call as the folder in `x-folder-id`, when sent.
   */
  authorize(authorization: string | undefined, nodeId: string, action: 'read' | 'call', viaFolderId?: string): Promise<void>;
  /** Throws unless the caller may read the alias's API (the .proto, OpenAPI) or call through it. */
  authorizeAlias(authorization: string | undefined, aliasId: string, action: 'read' | 'call'): Promise<void>;
}

const ROUTE = /^\/v1\/(nodes|aliases)\/([a-z0-9]{1,64})\/(api\.proto|openapi\.json|api:execute)$/;

/** The JSON body of a typed call ({} when empty), integers beyond 2^53 kept exact as strings. */
async function readExactJsonBody(req: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  return parseJsonBody(await readBody(req, maxBodyBytes), false, parseJsonExact) ?? {};
}

/**
 * The REST side of each checkpoint node's generated API, and of each alias's
 * in front of them: its `.proto`, its OpenAPI document, and the typed route:
 * the request message as the body and the response message as the answer,
 * both in protobuf JSON (the encoding grpc-gateway and every protobuf runtime
 * use for them). An answer through an alias names the node that gave it in
 * `x-berth-node-id`.
 */
export function typedRoutes(deps: TypedRouteDeps): ExtraHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string): Promise<boolean> => {
    const m = ROUTE.exec(url.pathname);
    if (!m) return false;
    const [, kind, id, what] = m as unknown as [string, 'nodes' | 'aliases', string, string];
    const method = what === 'api:execute' ? 'POST' : 'GET';
    if (req.method !== method) {
      sendMethodNotAllowed(res, req.method, url.pathname, [method]);
      return true;
    }
    const observed = currentCall();
    if (observed) {
      observed.route = `/v1/${kind}/{${kind === 'nodes' ? 'node_id' : 'alias_id'}}/${what}`;
      if (kind === 'nodes') observed.nodeId = id;
      else observed.aliasId = id;
    }
    const signal = callerSignal(res);
    const ctx: CallContext = { requestId, log: deps.log.child({ requestId }), signal, headers: {}, transport: 'http' };
    const action = what === 'api:execute' ? 'call' : 'read';
    try {
      await guard(`typed route ${what} of ${kind}/${id}`, ctx, async () => {
        // A body that is not JSON is refused before anything is looked up.
        if (what === 'api:execute') requireJsonContentType(req.headers);
        if (kind === 'nodes') {
          const via = req.headers['x-folder-id'];
          await deps.authorize(req.headers.authorization, id, action, typeof via === 'string' && via !== '' ? via : undefined);
        } else {
          await deps.authorizeAlias(req.headers.authorization, id, action);
        }
        const subject = kind === 'nodes' ? await deps.node(id) : await deps.alias(id);
        const messages = kind === 'nodes' ? TypedMessages.of(subject as TypedNode) : TypedMessages.ofAlias(subject as TypedAlias);
        if (what === 'api:execute') {
          const body = await readExactJsonBody(req, deps.maxBodyBytes);
          const request = messages.requestFromJson(body);
          const inputs = messages.inputsOf(request);
          if (kind === 'nodes') {
            sendJson(res, 200, messages.responseToJson(messages.responseOf(id, await deps.run(id, inputs, signal))));
          } else {
            const { outputs, nodeId } = await deps.runAlias(id, inputs, signal);
            res.setHeader('x-berth-node-id', nodeId);
            sendJson(res, 200, messages.responseToJson(messages.responseOf(nodeId, outputs)));
          }
          return;
        }
        if (what === 'openapi.json') {
          sendJson(res, 200, (kind === 'nodes' ? nodeOpenApi(subject as TypedNode) : aliasOpenApi(subject as TypedAlias)) as JsonValue);
        } else {
          const text = kind === 'nodes' ? nodeProtoSource(subject as TypedNode) : aliasProtoSource(subject as TypedAlias);
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
