import type { DescField, DescMessage, DescMethod, Registry } from '@bufbuild/protobuf';
import { status as Code } from '@grpc/grpc-js';
import { describeAccess } from '../method-access';
import { httpStatusForCode } from '../status';
import { httpBindings, type HttpBinding } from './http-rules';
import { OpenApiSchemas, wellKnownSchema, type Schema } from './openapi-schemas';
import { ProtoComments } from './proto-comments';

/** The path at which the HTTP listener serves the control plane's OpenAPI document. */
export const OPENAPI_PATH = '/openapi.json';

const JSON_TYPE = 'application/json';
const STATUS_REF = { $ref: '#/components/schemas/google.rpc.Status' };

/** The gRPC code names as they appear in the .proto comments ("Errors: NOT_FOUND, …"). */
const CODE_NAMES = Object.entries(Code).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] !== Code.OK);

/**
 * Codes any call may answer whatever its comment lists: a malformed request,
 * a missing or refused key, a key over its rate limit, the database down.
 */
const ANY_CALL = [Code.INVALID_ARGUMENT, Code.UNAUTHENTICATED, Code.PERMISSION_DENIED, Code.RESOURCE_EXHAUSTED, Code.UNAVAILABLE];

/** `{a.b}` and `{name=**}` → their field paths, in order. */
function templateVariables(path: string): string[] {
  return [...path.matchAll(/\{([^}=]+)(?:=[^}]*)?\}/g)].map((m) => m[1]!);
}

/** A path with its variables blanked: bindings with the same shape are one OpenAPI path. */
function shapeOf(path: string): string {
  return path.replace(/\{[^}]*\}/g, '{}');
}

/**
 * OpenAPI names each path variable once per path, while the bindings of one
 * path may fill different fields (`GET /v1/nodes/{node_id}`, `PATCH
 * /v1/nodes/{node.id}`): per shape and position, the first name without a
 * dot, else the first name.
 */
function canonicalNames(bindings: HttpBinding[]): Map<string, string[]> {
  const byShape = new Map<string, string[][]>();
  for (const b of bindings) {
    const list = byShape.get(shapeOf(b.path)) ?? [];
    list.push(templateVariables(b.path));
    byShape.set(shapeOf(b.path), list);
  }
  return new Map(
    [...byShape].map(([shape, lists]) => [shape, lists[0]!.map((first, i) => lists.map((l) => l[i]!).find((n) => !n.includes('.')) ?? first)]),
  );
}

function openApiPath(path: string, names: string[]): string {
  let i = 0;
  return path.replace(/\{[^}]*\}/g, () => `{${names[i++]}}`);
}

/** The fields a dotted proto path runs through, or undefined when one is missing. */
function fieldChain(desc: DescMessage, path: string): DescField[] | undefined {
  const chain: DescField[] = [];
  let current: DescMessage | undefined = desc;
  for (const name of path.split('.')) {
    const f: DescField | undefined = current?.fields.find((x) => x.name === name);
    if (!f) return undefined;
    chain.push(f);
    current = f.fieldKind === 'message' ? f.message : undefined;
  }
  return chain;
}

/** First sentence of a comment, for an operation's summary. */
function summaryOf(comment: string): string {
  const line = comment.split('\n\n')[0]!.replace(/\n/g, ' ');
  const end = line.search(/\.(\s|$)/);
  return end === -1 ? line : line.slice(0, end + 1);
}

/** Builds the document; one instance per document. */
class DocumentBuilder {
  readonly comments = new ProtoComments();
  readonly schemas: OpenApiSchemas;

  constructor(readonly registry: Registry) {
    this.schemas = new OpenApiSchemas(registry, this.comments);
  }

  /** The query parameters of the fields neither the path nor the body takes. */
  queryParameters(input: DescMessage, taken: ReadonlySet<string>): Schema[] {
    const out: Schema[] = [];
    const walk = (desc: DescMessage, prefix: string, seen: ReadonlySet<string>): void => {
      for (const f of desc.fields) {
        if (prefix === '' && taken.has(f.name)) continue;
        const name = prefix + f.jsonName;
        const description = this.comments.of(f);
        const param = (schema: Schema): void => {
          out.push({ name, in: 'query', ...(description ? { description } : {}), schema, ...(f.deprecated ? { deprecated: true } : {}) });
        };
        if (f.fieldKind === 'scalar' || f.fieldKind === 'enum') param(this.schemas.fieldValue(f));
        else if (f.fieldKind === 'list' && f.listKind !== 'message') param(this.schemas.fieldValue(f));
        else if (f.fieldKind === 'message') {
          const known = wellKnownSchema(f.message.typeName);
          // Scalar-like well-known types are one parameter; objects and lists cannot be written in a query string.
          if (known) {
            if (known.type !== 'object' && known.type !== 'array' && known.type !== undefined) param(known);
          } else if (!seen.has(f.message.typeName) && seen.size < 3) {
            walk(f.message, `${name}.`, new Set([...seen, f.message.typeName]));
          }
        }
        // Maps and lists of messages have no query-string form: such fields go in a body.
      }
    };
    walk(input, '', new Set([input.typeName]));
    return out;
  }

  operation(b: HttpBinding, names: string[], operationId: string): Schema {
    const { method } = b;
    const input = method.input;
    const variables = templateVariables(b.path);
    const parameters: Schema[] = variables.map((variable, i) => {
      const chain = fieldChain(input, variable);
      if (!chain) throw new Error(`path variable ${variable} of ${b.path} is not a field of ${input.typeName}`);
      const leaf = chain[chain.length - 1]!;
      const comment = this.comments.of(leaf);
      const fills = names[i] === variable ? '' : `Sets \`${variable}\` of the request.`;
      const description = [comment, fills].filter((s) => s).join('\n\n');
      return { name: names[i], in: 'path', required: true, ...(description ? { description } : {}), schema: this.schemas.fieldValue(leaf) };
    });
    // A path variable fills a top-level field (or a field inside the body's message).
    const taken = new Set(variables.map((v) => v.split('.')[0]!));
    if (b.body && b.body !== '*') taken.add(b.body);
    if (b.body !== '*') parameters.push(...this.queryParameters(input, taken));

    let requestBody: Schema | undefined;
    if (b.body === '*') {
      const topLevel = new Set(variables.filter((v) => !v.includes('.')));
      const schema = topLevel.size === 0 ? this.schemas.message(input) : { type: 'object', properties: this.schemas.properties(input, topLevel) };
      requestBody = { content: { [JSON_TYPE]: { schema } } };
    } else if (b.body) {
      const field = fieldChain(input, b.body)?.[0];
      if (!field) throw new Error(`body ${b.body} of ${b.path} is not a field of ${input.typeName}`);
      const comment = this.comments.of(field);
      requestBody = { required: true, ...(comment ? { description: comment } : {}), content: { [JSON_TYPE]: { schema: this.schemas.fieldValue(field) } } };
    }

    const output = b.responseBody ? fieldChain(method.output, b.responseBody)?.[0] : undefined;
    const outputSchema = output ? this.schemas.fieldValue(output) : this.schemas.message(method.output);
    const comment = this.comments.of(method) ?? '';
    const grpcPath = `/${b.service.typeName}/${method.name}`;
    const access = describeAccess(grpcPath);
    return {
      tags: [b.service.name],
      operationId,
      ...(comment ? { summary: summaryOf(comment) } : {}),
      description: [comment, `**Who may call it:** ${access}`].filter((p) => p).join('\n\n'),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(requestBody ? { requestBody } : {}),
      responses: {
        '200': { description: `A ${output ? `${method.output.typeName}.${output.name}` : method.output.typeName}.`, content: { [JSON_TYPE]: { schema: outputSchema } } },
        ...this.errorResponses(method, requestBody !== undefined),
      },
      ...(method.deprecated ? { deprecated: true } : {}),
      'x-grpc-method': grpcPath,
      'x-berth-access': access,
    };
  }

  /**
   * The error answers of a method: the codes its comment names and those any
   * call may get, each under its HTTP status, all as google.rpc.Status.
   */
  errorResponses(method: DescMethod, takesBody: boolean): Record<string, Schema> {
    const comment = this.comments.of(method) ?? '';
    const named = CODE_NAMES.filter(([name]) => new RegExp(`\\b${name}\\b`).test(comment)).map(([, code]) => code);
    const byStatus = new Map<number, Set<string>>();
    for (const code of new Set([...ANY_CALL, ...named])) {
      const status = httpStatusForCode(code);
      const set = byStatus.get(status) ?? new Set();
      set.add(Code[code]!);
      byStatus.set(status, set);
    }
    const out: Record<string, Schema> = {};
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      out[String(status)] = { description: `${[...codes].join(' or ')}.`, content: { [JSON_TYPE]: { schema: STATUS_REF } } };
    }
    if (takesBody) {
      out['413'] = { description: 'RESOURCE_EXHAUSTED: the request body is over the size limit.', content: { [JSON_TYPE]: { schema: STATUS_REF } } };
      out['415'] = { description: 'INVALID_ARGUMENT: the request body is not `application/json`.', content: { [JSON_TYPE]: { schema: STATUS_REF } } };
    }
    out.default = { description: 'Any other error (INTERNAL, 500, for a fault of Berth).', content: { [JSON_TYPE]: { schema: STATUS_REF } } };
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  }
}

/**
 * Each checkpoint node's typed routes, and each alias's in front of such
 * nodes (`src/api/rest/typed-routes.ts`): their bodies are the variables.
 */
function typedRoutePaths(): Record<string, Schema> {
  return { ...typedRoutesOf('node'), ...typedRoutesOf('alias') };
}

function typedRoutesOf(kind: 'node' | 'alias'): Record<string, Schema> {
  const param = kind === 'node' ? 'node_id' : 'alias_id';
  const base = kind === 'node' ? '/v1/nodes/{node_id}' : '/v1/aliases/{alias_id}';
  const prefix = kind === 'node' ? 'TypedRoute' : 'AliasTypedRoute';
  const whose = kind === 'node' ? "a checkpoint node's" : "an alias's (in front of checkpoint nodes)";
  const nodeId = { name: param, in: 'path', required: true, schema: { type: 'string' } };
  const error = (description: string): Schema => ({ description, content: { [JSON_TYPE]: { schema: STATUS_REF } } });
  const errors = {
    '400': error(`INVALID_ARGUMENT (an input missing, unknown or of the wrong type) or FAILED_PRECONDITION (${kind === 'node' ? 'a Docker node, a suspended node' : 'an alias of Docker nodes, a suspended node'}).`),
    '401': error('UNAUTHENTICATED.'),
    '403': error('PERMISSION_DENIED.'),
    '404': error(kind === 'node' ? 'NOT_FOUND: no such node.' : 'NOT_FOUND: no such alias.'),
    default: error('Any other error.'),
  };
  return {
    [`${base}/api:execute`]: {
      post: {
        tags: ['TypedRoutes'],
        operationId: `${prefix}_Execute`,
        summary:
          kind === 'node'
            ? "Runs a checkpoint node's served cell with the inputs as the body; the outputs are the answer."
            : 'Runs the served cell of the node the alias picks by weight; the outputs are the answer, `x-berth-node-id` names the node.',
        description: `The ${kind}'s own document, \`GET ${base}/openapi.json\`, types each input and output.`,
        parameters: [nodeId],
        requestBody: { required: true, content: { [JSON_TYPE]: { schema: { type: 'object', additionalProperties: true, description: 'The input variables by name.' } } } },
        responses: {
          '200': { description: 'The output variables by name.', content: { [JSON_TYPE]: { schema: { type: 'object', additionalProperties: true } } } },
          ...errors,
          '409': error('ABORTED: the cell raised (details hold berth.v1.NodeExecutionErrorDetails).'),
          '413': error('RESOURCE_EXHAUSTED: the request or response is over the size limit.'),
          '415': error('INVALID_ARGUMENT: the body is not `application/json`.'),
          '429': error('RESOURCE_EXHAUSTED: every instance is busy and the queue is full, or the key is over its rate.'),
          '503': error('UNAVAILABLE: no instance is healthy.'),
        },
      },
    },
    [`${base}/api.proto`]: {
      get: {
        tags: ['TypedRoutes'],
        operationId: `${prefix}_GetProto`,
        summary: `${capitalized(whose)} typed gRPC service as a .proto file, for protoc.`,
        parameters: [nodeId],
        responses: { '200': { description: 'The .proto source.', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors },
      },
    },
    [`${base}/openapi.json`]: {
      get: {
        tags: ['TypedRoutes'],
        operationId: `${prefix}_GetOpenApi`,
        summary: `The OpenAPI 3 document of ${whose} typed route.`,
        parameters: [nodeId],
        responses: { '200': { description: 'An OpenAPI 3 document.', content: { [JSON_TYPE]: { schema: { type: 'object' } } } }, ...errors },
      },
    },
  };
}

const capitalized = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

/** The listener's own paths, outside the transcoded API. */
function listenerPaths(): Record<string, Schema> {
  const status = (description: string, value: string): Schema => ({
    description,
    content: { [JSON_TYPE]: { schema: { type: 'object', properties: { status: { type: 'string', example: value } } } } },
  });
  return {
    [OPENAPI_PATH]: {
      get: {
        tags: ['Listener'],
        operationId: 'GetOpenApi',
        summary: 'This document.',
        security: [],
        responses: { '200': { description: 'The OpenAPI 3 document of the control plane.', content: { [JSON_TYPE]: { schema: { type: 'object' } } } } },
      },
    },
    '/healthz': { get: { tags: ['Listener'], operationId: 'Healthz', summary: 'Liveness: answers while the process serves.', security: [], responses: { '200': status('Alive.', 'ok') } } },
    '/readyz': {
      get: {
        tags: ['Listener'],
        operationId: 'Readyz',
        summary: 'Readiness: 200 once the database is migrated and calls are taken.',
        security: [],
        responses: { '200': status('Ready.', 'ready'), '503': status('Still starting.', 'starting') },
      },
    },
  };
}

/**
 * The OpenAPI 3 document of the control plane's REST API, derived from the
 * descriptors alone: one operation per google.api.http binding of the
 * services (the same bindings the transcoder routes by), schemas of every
 * message reached in its proto3 JSON form, descriptions from the .proto
 * comments, google.rpc.Status on every error answer, and the API key as a
 * bearer token.
 */
export function controlPlaneOpenApi(registry: Registry, serviceNames: readonly string[]): Record<string, unknown> {
  const builder = new DocumentBuilder(registry);
  const bindings = httpBindings(registry, serviceNames);
  const names = canonicalNames(bindings);
  const paths: Record<string, Record<string, Schema>> = {};
  const used = new Map<string, number>();
  for (const b of bindings) {
    const path = openApiPath(b.path, names.get(shapeOf(b.path))!);
    const item = (paths[path] ??= {});
    const verb = b.httpMethod.toLowerCase();
    if (item[verb]) throw new Error(`${b.httpMethod} ${path} is bound twice`);
    const base = `${b.service.name}_${b.method.name}`;
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    item[verb] = builder.operation(b, names.get(shapeOf(b.path))!, n === 1 ? base : `${base}_${n}`);
  }
  // The error body of every non-2xx answer.
  builder.schemas.message(registry.getMessage('google.rpc.Status')!);
  const services = serviceNames.map((name) => registry.getService(name)!);
  return {
    openapi: '3.0.3',
    info: {
      title: 'Berth control plane',
      version: 'v1',
      description: [
        'The REST form of the berth.v1 gRPC services, transcoded by their google.api.http annotations: request and response bodies are the messages in proto3 JSON (lowerCamelCase names, 64-bit integers as strings, enums by name, Timestamp and Duration as strings).',
        'Every error is a google.rpc.Status as JSON, `{"code", "message", "details"}`, under the HTTP status grpc-gateway gives its code; details carry `@type` (google.rpc.BadRequest field violations, ResourceInfo, PreconditionFailure, QuotaFailure, RetryInfo).',
        'Each checkpoint node describes its own typed route at `/v1/nodes/{node_id}/openapi.json`, and each alias in front of such nodes at `/v1/aliases/{alias_id}/openapi.json`.',
        'Each operation says who may call it (also as `x-berth-access`): the least role and the folder it is needed in.',
      ].join('\n\n'),
    },
    tags: [
      ...services.map((s) => {
        const comment = builder.comments.of(s);
        return { name: s.name, ...(comment ? { description: comment } : {}) };
      }),
      { name: 'TypedRoutes', description: "Each checkpoint node's generated REST route, its .proto and its own OpenAPI document." },
      { name: 'Listener', description: 'Health and this document; no key needed.' },
    ],
    security: [{ apiKey: [] }],
    paths: { ...Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))), ...typedRoutePaths(), ...listenerPaths() },
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'A Berth API key, sent as `authorization: Bearer <key>` (`Api-Key <key>` is taken too). Not needed when Berth runs with `--auth none`.',
        },
      },
      schemas: Object.fromEntries(Object.entries(builder.schemas.components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}
