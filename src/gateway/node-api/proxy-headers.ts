/**
 * Header rules of the node-API proxy: which headers route a call, which are
 * end-to-end and pass through unchanged, and how a head is rewritten when the
 * caller and the instance speak different HTTP versions.
 *
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and must not
 * be forwarded; HTTP/2 forbids them outright (RFC 9113 §8.2.2), and Node
 * throws on them, so they are dropped in every direction. `te` is the one
 * exception: `te: trailers` is end-to-end in HTTP/2 and gRPC servers expect
 * it. The routing headers and `authorization` (the caller's API key for
 * Berth) are Berth's own and are not shown to instances.
 *
 * CORS is Berth's alone (`../browser-policy.ts`): an instance's own
 * `access-control-*` response headers are dropped, so an instance cannot
 * grant a web page access through Berth; a page of an origin listed with
 * `--cors-origin` gets Berth's grant instead.
 *
 * Who answered is Berth's to say too: every relayed response carries
 * `x-berth-node-id` and `x-berth-instance-id` ({@link answeredBy}), and an
 * instance's own headers or trailers of those names are dropped, so an
 * instance cannot pass itself off as another.
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { NodeApiRoute } from './resolver';

type HeaderValue = string | string[] | number | undefined;

/** Reads one routing value; a header sent twice counts by its first value. */
function single(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.length > 0 ? value : undefined;
  return value[0];
}

/** The routing part of a call's headers, as the resolver takes it. */
export function readRoute(headers: IncomingHttpHeaders): NodeApiRoute {
  return {
    nodeId: single(headers['x-node-id']),
    aliasName: single(headers['x-node-alias']),
    folderId: single(headers['x-folder-id']),
    authorization: single(headers.authorization),
  };
}

/** True for `application/grpc` and its `+proto`/`+json` variants: those callers get gRPC-shaped errors. */
export function isGrpcContentType(value: string | string[] | undefined): boolean {
  const v = typeof value === 'string' ? value : value?.[0];
  return v !== undefined && v.startsWith('application/grpc');
}

/** The response header naming the node that answered a call (also on Berth's own refusals, when the node is known). */
export const NODE_ID_HEADER = 'x-berth-node-id';
/** The response header naming the instance that answered a call; absent on Berth's own refusals. */
export const INSTANCE_ID_HEADER = 'x-berth-instance-id';

/** The response header echoing the call's request id (the caller's `x-request-id` when sane, else Berth's own). */
export const REQUEST_ID_HEADER = 'x-request-id';

/** The headers Berth adds to a response relayed from `instanceId` of `nodeId`. */
export function answeredBy(nodeId: string, instanceId: string): Record<string, string> {
  return { [NODE_ID_HEADER]: nodeId, [INSTANCE_ID_HEADER]: instanceId };
}

/** A header only Berth may send (see the file comment). */
function isAnswerIdentity(name: string): boolean {
  return name === NODE_ID_HEADER || name === INSTANCE_ID_HEADER;
}

/** An instance's trailers without the names only Berth may send; the same object when it has none of them. */
export function relayTrailers(trailers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (trailers[NODE_ID_HEADER] === undefined && trailers[INSTANCE_ID_HEADER] === undefined) return trailers;
  const out: IncomingHttpHeaders = { ...trailers };
  delete out[NODE_ID_HEADER];
  delete out[INSTANCE_ID_HEADER];
  return out;
}

/** Headers never forwarded in either direction, whatever the protocols. */
function isHopByHop(name: string): boolean {
  switch (name) {
    case 'connection':
    case 'keep-alive':
    case 'transfer-encoding':
    case 'upgrade':
    case 'http2-settings':
    case 'te':
    case 'expect':
      return true;
    default:
      return name.startsWith('proxy-');
  }
}

function isRouting(name: string): boolean {
  return name === 'x-node-id' || name === 'x-node-alias' || name === 'x-folder-id' || name === 'authorization';
}

/**
 * Extra hop-by-hop names a sender listed in its `connection` header
 * (`connection: close, x-trace` makes `x-trace` hop-by-hop). Rare, so the
 * common case costs one property read.
 */
function connectionListed(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  if (value === undefined) return undefined;
  let listed: Set<string> | undefined;
  for (const token of String(value).split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}

/**
 * Request head for an HTTP/1.1 instance. From an HTTP/2 caller the
 * pseudo-headers are dropped and `:authority` becomes `host`.
 */
export function toHttp1RequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = connectionListed(headers);
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a /* ':' */ || isHopByHop(name) || isRouting(name)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    out[name] = headers[name];
  }
  if (out.host === undefined) {
    const authority = headers[':authority'];
    if (typeof authority === 'string') out.host = authority;
  }
  return out;
}

/**
 * Request head for an h2c instance. From an HTTP/2 caller the pseudo-headers
 * pass as they are; from an HTTP/1.1 caller they are made from the request
 * line and `host`. `te: trailers` is kept (and added for gRPC calls).
 */
export function toHttp2RequestHeaders(
  headers: IncomingHttpHeaders,
  method: string,
  path: string,
  grpc: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const listed = connectionListed(headers);
  for (const name in headers) {
    if (isHopByHop(name) || isRouting(name) || name === 'host') continue;
    if (listed !== undefined && listed.has(name)) continue;
    out[name] = headers[name];
  }
  if (out[':method'] === undefined) {
    out[':method'] = method;
    out[':path'] = path;
    out[':scheme'] = 'http';
  }
  if (out[':authority'] === undefined && headers.host !== undefined) out[':authority'] = headers.host;
  const te = headers.te;
  if (grpc || (typeof te === 'string' && te.trim().toLowerCase() === 'trailers')) out.te = 'trailers';
  return out;
}

/** A CORS header an instance sent: never relayed (see the file comment). */
function isCors(name: string): boolean {
  return name.charCodeAt(0) === 0x61 /* 'a' */ && name.startsWith('access-control-');
}

/**
 * Copies what may be relayed of an instance's response head into `out`, then
 * Berth's own headers (`added`: who answered, the CORS grant), if any.
 */
function relayResponseHeaders(headers: IncomingHttpHeaders, out: OutgoingHttpHeaders, added: Record<string, string> | undefined): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || isHopByHop(name) || isCors(name) || isAnswerIdentity(name)) continue;
    if (listed !== undefined && listed.has(name)) continue;
    out[name] = headers[name];
  }
  if (added !== undefined) {
    for (const name in added) {
      const value = added[name]!;
      const had = out[name];
      out[name] = name === 'vary' && had !== undefined ? `${String(had)}, ${value}` : value;
    }
  }
  return out;
}

/** Response head for an HTTP/1.1 caller: no pseudo-headers, no hop-by-hop, CORS or identity headers, plus Berth's own (`added`). */
export function toHttp1ResponseHeaders(headers: IncomingHttpHeaders, added?: Record<string, string>): OutgoingHttpHeaders {
  return relayResponseHeaders(headers, {}, added);
}

/** Response head for an HTTP/2 caller, with `:status` set, hop-by-hop, CORS and identity headers dropped, plus Berth's own (`added`). */
export function toHttp2ResponseHeaders(headers: IncomingHttpHeaders, status: number, added?: Record<string, string>): OutgoingHttpHeaders {
  return relayResponseHeaders(headers, { ':status': status }, added);
}

/** A numeric `content-length`, or -1 when absent or malformed. */
export function contentLength(headers: IncomingHttpHeaders): number {
  const value: HeaderValue = headers['content-length'];
  if (value === undefined) return -1;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) && n >= 0 ? n : -1;
}
