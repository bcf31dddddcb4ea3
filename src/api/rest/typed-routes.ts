import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue, Registry } from '@bufbuild/protobuf';
import { aliasOpenApi, nodeOpenApi } from '../node-openapi';
import type { TypedAliasEntry, TypedNode } from '../node-typed-api';
import { aliasTargetOf } from '../node-service';
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
  /** The alias with this id in front of checkpoint nodes, with its targets (throws NotFoundError, or FailedPreconditionError for an alias of Docker nodes). */
  alias(aliasId: string): Promise<TypedAliasEntry>;
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
        const view = kind === 'nodes' ? nodeView(await deps.node(id), deps) : aliasView(await deps.alias(id), deps);
        if (what === 'api:execute') {
          const { messages } = view;
          const body = await readExactJsonBody(req, deps.maxBodyBytes);
          const { outputs, nodeId } = await view.run(messages.inputsOf(messages.requestFromJson(body)), signal);
          if (kind === 'aliases') res.setHeader('x-berth-node-id', nodeId);
          sendJson(res, 200, messages.responseToJson(messages.responseOf(nodeId, outputs)));
          return;
        }
        if (what === 'openapi.json') {
          sendJson(res, 200, view.openApi() as JsonValue);
        } else {
          const text = view.proto();
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

/** What a typed route does with a node or an alias: its messages, documents and calls. */
interface TypedView {
  messages: TypedMessages;
  proto(): string;
  openApi(): Record<string, unknown>;
  run(inputs: Record<string, unknown>, signal: AbortSignal): Promise<{ outputs: Record<string, WireValue>; nodeId: string }>;
}

function nodeView(node: TypedNode, deps: TypedRouteDeps): TypedView {
  return {
    messages: TypedMessages.of(node),
    proto: () => nodeProtoSource(node),
    openApi: () => nodeOpenApi(node),
    run: async (inputs, signal) => ({ outputs: await deps.run(node.id, inputs, signal), nodeId: node.id }),
  };
}

/** A call through the alias goes to the target it picks by weight among the targets just read. */
function aliasView(alias: TypedAliasEntry, deps: TypedRouteDeps): TypedView {
  return {
    messages: TypedMessages.ofAlias(alias),
    proto: () => aliasProtoSource(alias),
    openApi: () => aliasOpenApi(alias),
    run: async (inputs, signal) => {
      const nodeId = aliasTargetOf(alias);
      return { outputs: await deps.run(nodeId, inputs, signal), nodeId };
    },
  };
}
