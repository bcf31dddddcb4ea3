import {
  fromBinary,
  fromJson,
  toBinary,
  toJson,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type Registry,
} from '@bufbuild/protobuf';
import { runMethod, type BoundMethod, type CallContext, type MethodTable } from '../adapter';
import { carriesSecrets, NOT_QUOTED } from '../redaction';
import { decodeRequest } from '../request-decoding';
import { StatusError, toStatusError } from '../status';
import { ValidationError, type FieldViolation } from '../../domain/errors';
import { httpBindings } from './http-rules';
import { compileTemplate, matchTemplate, type PathTemplate } from './path-template';

/** One HTTP binding of a gRPC method, read from its google.api.http option. */
export interface Route {
  httpMethod: string;
  template: PathTemplate;
  method: BoundMethod;
  input: DescMessage;
  output: DescMessage;
  /** `*`, a top-level request field name, or empty (no body). */
  body: string;
  responseBody: string;
}

/**
 * Builds the REST routes of the given services from their google.api.http
 * bindings ({@link httpBindings}), for the methods the table serves.
 */
export function buildRoutes(registry: Registry, serviceNames: readonly string[], table: MethodTable, streaming = false): Route[] {
  const routes: Route[] = [];
  for (const b of httpBindings(registry, serviceNames)) {
    const bound = table.get(`/${b.service.typeName}/${b.method.name}`);
    // Streaming methods are answered by their own handler (rest/stream-routes.ts), unary ones here.
    if (!bound || bound.streaming !== streaming) continue;
    routes.push({ httpMethod: b.httpMethod, template: compileTemplate(b.path), method: bound, input: b.method.input, output: b.method.output, body: b.body, responseBody: b.responseBody });
  }
  // Most literal segments first, so `/v1/nodes/{id}:execute` wins over `/v1/nodes/{id}`.
  return routes.sort((a, b) => b.template.literals - a.template.literals);
}

/** A path that some route serves, asked with a method none of them takes: the methods they take. */
export interface MethodNotAllowed {
  allow: string[];
}

/**
 * Finds the route of a request. A last segment ending in a verb that some
 * route declares (`:execute`, `:wait`) is that verb's path, as in Envoy's
 * transcoder: `GET /v1/operations/x:wait` is method-not-allowed, not GetOperation
 * of an operation named `x:wait`. An unknown verb stays part of the segment.
 * A path served only under other methods answers those methods (for `Allow`).
 */
export function findRoute(routes: Route[], httpMethod: string, path: string): { route: Route; vars: Record<string, string> } | MethodNotAllowed | undefined {
  const last = path.slice(path.lastIndexOf('/') + 1);
  const suffix = last.includes(':') ? last.slice(last.lastIndexOf(':') + 1) : '';
  const verb = suffix && routes.some((r) => r.template.verb === suffix) ? suffix : '';
  const allow = new Set<string>();
  for (const route of routes) {
    if (route.template.verb !== verb) continue;
    const vars = matchTemplate(route.template, path);
    if (!vars) continue;
    if (route.httpMethod === httpMethod) return { route, vars };
    allow.add(route.httpMethod);
  }
  return allow.size > 0 ? { allow: [...allow] } : undefined;
}

/** A malformed HTTP request: INVALID_ARGUMENT with a BadRequest naming the field. */
function badRequest(message: string, field: string): StatusError {
  return toStatusError(new ValidationError([{ field, description: message }]));
}

/**
 * Rewrites the JSON decoder's message so that it names the field as a caller
 * wrote it: `cannot decode field berth.v1.Folder.name from JSON: 5` becomes a
 * violation of `name`, `key "x" is unknown` one of `x`. Used only when the
 * failing field cannot be located in the request (see {@link locateDecodeError}).
 */
function decodeError(text: string): StatusError {
  const unknown = /cannot decode message ([\w.]+) from JSON: key "([^"]+)" is unknown/.exec(text);
  if (unknown) return badRequest(`unknown field ${JSON.stringify(unknown[2])} in ${unknown[1]}`, unknown[2]!);
  const field = /cannot decode field ([\w.]+) from JSON: (.*)$/.exec(text);
  if (field) {
    const name = field[1]!.split('.').pop()!;
    return badRequest(`${field[1]} has the wrong type: ${field[2]}`, name);
  }
  return badRequest(text, 'body');
}

/** The decoder's error for `json` as a `desc`, or undefined when it decodes. */
function decodeFailure(desc: DescMessage, json: JsonObject, registry: Registry): Error | undefined {
  try {
    fromJson(desc, json, { registry, ignoreUnknownFields: false });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** What is wrong with a value, from the decoder's message without its `cannot decode … from JSON:` prefix. */
function describeDecodeError(err: Error): string {
  const m = /^cannot decode (field|oneof|enum|message) ([\w.]+) from JSON:? (.*)$/s.exec(err.message);
  if (!m) return err.message;
  const [, kind, typeName] = m;
  // The path already says which item or entry.
  const rest = m[3]!.replace(/^(list item #\d+|map entry "(?:[^"\\]|\\.)*"): /, '');
  if (kind === 'enum') return `${rest} is not a value of ${typeName}`;
  if (kind === 'message') return /^key "/.test(rest) ? `${typeName}: ${rest}` : `${rest} is not a valid ${typeName}`;
  return /^expected /.test(rest) ? `has the wrong type: ${rest}` : rest;
}

/** A value as the caller wrote it, cut short: an error message need not echo a large body back. */
function preview(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Messages whose JSON form is their own (Duration as "1s", Struct as any object, …): checked whole. */
const hasCustomJson = (desc: DescMessage): boolean => desc.typeName.startsWith('google.protobuf.');

/**
 * Finds the field of a request that the JSON decoder refuses, as a path from
 * the request root in proto field names (`node.spec.instance_range.min`), the
 * way domain validation names fields: the decoder's own message names only the
 * message type, which may occur at many places in one request. Each field is
 * decoded on its own, descending into the first that fails.
 */
function locateDecodeError(desc: DescMessage, json: JsonValue, path: string, registry: Registry): FieldViolation | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const at = (name: string): string => (path ? `${path}.${name}` : name);
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    if (!field) return { field: at(key), description: `is not a field of ${desc.typeName}` };
    const here = at(field.name);
    const err = decodeFailure(desc, { [key]: value }, registry);
    if (!err) continue;
    let inner: FieldViolation | undefined;
    if (field.fieldKind === 'message' && !hasCustomJson(field.message)) {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        return { field: here, description: `must be a JSON object (${field.message.typeName}), not ${preview(value)}` };
      inner = locateDecodeError(field.message, value, here, registry);
    } else if (field.fieldKind === 'list' && Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        const itemErr = decodeFailure(desc, { [key]: [item] }, registry);
        if (!itemErr) continue;
        const nested = field.listKind === 'message' && !hasCustomJson(field.message) ? locateDecodeError(field.message, item, `${here}[${i}]`, registry) : undefined;
        inner = nested ?? { field: `${here}[${i}]`, description: describeDecodeError(itemErr) };
        break;
      }
    } else if (field.fieldKind === 'map' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) {
        const entryErr = decodeFailure(desc, { [key]: { [k]: v } }, registry);
        if (!entryErr) continue;
        const nested = field.mapKind === 'message' && !hasCustomJson(field.message) ? locateDecodeError(field.message, v, `${here}.${k}`, registry) : undefined;
        inner = nested ?? { field: `${here}.${k}`, description: describeDecodeError(entryErr) };
        break;
      }
    }
    return inner ?? { field: here, description: describeDecodeError(err) };
  }
  return undefined;
}

/** Resolves a dotted proto field path (snake or JSON names) against a message. */
function fieldPath(desc: DescMessage, path: string): DescField[] | undefined {
  const out: DescField[] = [];
  let current: DescMessage | undefined = desc;
  for (const seg of path.split('.')) {
    const f: DescField | undefined = current?.fields.find((x) => x.name === seg || x.jsonName === seg);
    if (!f) return undefined;
    out.push(f);
    current = f.fieldKind === 'message' ? f.message : undefined;
  }
  return out;
}

const snakeToCamel = (path: string): string => path.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A path or query string value as the JSON value proto3 JSON expects for that field. */
function scalarJson(field: DescField, value: string): JsonValue {
  // FieldMask's JSON form is lowerCamelCase; callers write proto names just as often.
  if (field.fieldKind === 'message' && field.message.typeName === 'google.protobuf.FieldMask') return value.split(',').map(snakeToCamel).join(',');
  if (field.fieldKind === 'scalar' || field.fieldKind === 'list') {
    const scalar = field.scalar;
    if (scalar === 8 /* BOOL */) {
      if (value === 'true') return true;
      if (value === 'false') return false;
    }
  }
  return value;
}

function setPath(obj: JsonObject, fields: DescField[], value: JsonValue, append: boolean): void {
  let target = obj;
  for (const f of fields.slice(0, -1)) {
    const existing = target[f.jsonName];
    if (existing === undefined || existing === null || typeof existing !== 'object' || Array.isArray(existing)) target[f.jsonName] = {};
    target = target[f.jsonName] as JsonObject;
  }
  const last = fields[fields.length - 1]!;
  if (append && last.fieldKind === 'list') {
    const list = Array.isArray(target[last.jsonName]) ? (target[last.jsonName] as JsonValue[]) : [];
    list.push(value);
    target[last.jsonName] = list;
  } else {
    target[last.jsonName] = value;
  }
}

/**
 * Turns an HTTP request (parsed JSON body, path variables, query string) into
 * the gRPC request message, following the HttpRule: body `*` takes the whole
 * request, a field name takes only that field, path variables fill the rest and
 * query parameters fill what neither took.
 */
export function requestJson(route: Route, vars: Record<string, string>, query: URLSearchParams, body: JsonValue | undefined): JsonObject {
  let obj: JsonObject = {};
  if (route.body === '*') {
    if (body !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the request body must be a JSON object', 'body');
      obj = body;
    }
  } else if (route.body) {
    const f = fieldPath(route.input, route.body);
    if (!f) throw new Error(`body field ${route.body} missing from ${route.input.typeName}`);
    if (body !== undefined) setPath(obj, f, body, false);
  } else if (body !== undefined && !(typeof body === 'object' && body !== null && Object.keys(body).length === 0)) {
    throw badRequest(`${route.httpMethod} ${route.template.source} takes no request body`, 'body');
  }
  for (const [name, value] of Object.entries(vars)) {
    const f = fieldPath(route.input, name);
    if (!f) throw new Error(`path variable ${name} missing from ${route.input.typeName}`);
    setPath(obj, f, scalarJson(f[f.length - 1]!, value), false);
  }
  if (route.body !== '*') {
    inferUpdateMask(route, obj, query);
    const once = new Set<string>();
    for (const [key, value] of query) {
      const f = fieldPath(route.input, key);
      if (!f) throw badRequest(`unknown query parameter ${JSON.stringify(key)}`, key);
      if (route.body && f[0]!.name === route.body) throw badRequest(`query parameter ${JSON.stringify(key)} belongs in the body`, key);
      const leaf = f[f.length - 1]!;
      if (leaf.fieldKind !== 'list') {
        const name = f.map((x) => x.name).join('.');
        if (once.has(name)) throw badRequest(`query parameter ${JSON.stringify(key)} is given more than once; it takes one value`, name);
        once.add(name);
      }
      setPath(obj, f, scalarJson(leaf, value), true);
    }
  } else if ([...query.keys()].length > 0) {
    throw badRequest(`${route.template.source} takes its fields in the body, not the query string`, [...query.keys()][0]!);
  }
  return obj;
}

/** The leaf field paths a JSON value sets, descending into messages but not maps, lists or well-known types. */
function leafPaths(desc: DescMessage, value: JsonObject, prefix: string): string[] {
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const f = desc.fields.find((x) => x.jsonName === key || x.name === key);
    if (!f) {
      out.push(prefix + key);
      continue;
    }
    const path = prefix + f.jsonName;
    const isPlainMessage = f.fieldKind === 'message' && !f.message.typeName.startsWith('google.protobuf.');
    if (isPlainMessage && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) out.push(...leafPaths(f.message, v, `${path}.`));
    else out.push(path);
  }
  return out;
}

/**
 * As grpc-gateway does for PATCH: without an explicit update_mask, the mask is
 * the fields the body sets, so `PATCH {"description": "x"}` changes only the description.
 */
function inferUpdateMask(route: Route, obj: JsonObject, query: URLSearchParams): void {
  if (route.httpMethod !== 'PATCH' || !route.body || route.body === '*') return;
  const maskField = route.input.fields.find((f) => f.name === 'update_mask');
  if (!maskField || query.has('update_mask') || query.has('updateMask')) return;
  const bodyField = fieldPath(route.input, route.body)?.[0];
  const body = bodyField ? obj[bodyField.jsonName] : undefined;
  if (!bodyField || bodyField.fieldKind !== 'message' || !body || typeof body !== 'object' || Array.isArray(body)) return;
  const paths = leafPaths(bodyField.message, body, '').filter((p) => p !== 'id' && p !== 'etag');
  if (paths.length > 0) obj[maskField.jsonName] = paths.join(',');
}

/** Decodes JSON into the method's request, runs it, and encodes the response as proto3 JSON; the caller guards it. */
export async function transcode(route: Route, registry: Registry, json: JsonObject, ctx: CallContext): Promise<JsonValue> {
  const request = requestOf(route, registry, json);
  const response = await runMethod(route.method, request, ctx);
  return responseJson(route, registry, response);
}

/** Like {@link transcode} for a server-streaming method: each message goes to `send` as proto3 JSON. */
export async function transcodeStream(route: Route, registry: Registry, json: JsonObject, ctx: CallContext, send: (message: JsonValue) => Promise<void>): Promise<void> {
  const request = requestOf(route, registry, json);
  await runMethod(route.method, request, ctx, (message) => send(responseJson(route, registry, message)));
}

/** The method's request decoded from JSON, its faults named by field. */
function requestOf(route: Route, registry: Registry, json: JsonObject): unknown {
  let message: Message;
  try {
    message = fromJson(route.input, json, { registry, ignoreUnknownFields: false }) as Message;
  } catch (err) {
    const violation = locateDecodeError(route.input, json, '', registry);
    // The decoder's words quote the value it refused: not when that may be a secret.
    if (carriesSecrets(route.input) && !violation?.description.startsWith('is not a field of'))
      throw badRequest(`has the wrong type or form for this field (${NOT_QUOTED})`, violation?.field ?? 'body');
    throw violation ? toStatusError(new ValidationError([violation])) : decodeError((err as Error).message);
  }
  // The same decoder as a gRPC request's: an int64 above 2^53 is refused by name, never rounded.
  return decodeRequest(route.method.definition, route.input, Buffer.from(toBinary(route.input, message as never)));
}

function responseJson(route: Route, registry: Registry, response: unknown): JsonValue {
  const bytes = route.method.definition.responseSerialize(response);
  const out = fromBinary(route.output, bytes);
  const value = toJson(route.output, out as never, { registry, alwaysEmitImplicit: true });
  if (route.responseBody && value && typeof value === 'object' && !Array.isArray(value)) {
    const f = fieldPath(route.output, route.responseBody);
    return f ? ((value as JsonObject)[f[0]!.jsonName] ?? null) : value;
  }
  return value;
}
