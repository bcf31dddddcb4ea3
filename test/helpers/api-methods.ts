/**
 * Every method Berth serves, found the way a new one would be: the services
 * of package berth.v1 in the descriptor set (gen/berth.binpb), each method
 * with its ts-proto definition from gen/ and its google.api.http binding.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fromJson, getOption, toBinary, type DescMethod, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { credentials, makeGenericClientConstructor, status as Code, type Client, type MethodDefinition, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { descriptors } from '../../src/api/descriptors';
import { metadataOf } from './iam';
import { rest } from './rest';

/** One method as both faces of the API serve it. */
export interface MethodInfo {
  /** `Service/Method` */
  key: string;
  desc: DescMethod;
  /** The ts-proto definition, from gen/. */
  definition: MethodDefinition<unknown, unknown>;
  grpcName: string;
  /** The whole generated service definition the method belongs to. */
  service: ServiceDefinition;
  http: { method: string; path: string; body: string };
}

/** Every service definition that gen/ exports, by full service name. */
function generatedServices(): Map<string, ServiceDefinition> {
  const dir = path.join(__dirname, '..', '..', 'gen', 'berth', 'v1');
  const out = new Map<string, ServiceDefinition>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('_service.ts'))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(dir, file)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (!value || typeof value !== 'object') continue;
      const methods = Object.values(value as Record<string, unknown>);
      if (methods.length === 0 || !methods.every((m) => typeof (m as { path?: unknown }).path === 'string')) continue;
      const service = /^\/([^/]+)\//.exec((methods[0] as { path: string }).path)![1]!;
      out.set(service, value as ServiceDefinition);
    }
  }
  return out;
}

interface HttpRuleShape {
  pattern: { case: string | undefined; value?: unknown };
  body: string;
  additionalBindings: HttpRuleShape[];
}

/** Every method of every berth.v1 service in the descriptor set, with its generated definition and HTTP binding. */
export function allMethods(): MethodInfo[] {
  const { registry } = descriptors();
  const httpExt = registry.getExtension('google.api.http')!;
  const generated = generatedServices();
  const out: MethodInfo[] = [];
  for (const file of descriptors().set.file.filter((f) => f.package === 'berth.v1')) {
    for (const s of file.service) {
      const service = registry.getService(`berth.v1.${s.name}`)!;
      const definition = generated.get(service.typeName);
      assert.ok(definition, `gen/ has no service definition of ${service.typeName}`);
      for (const m of service.methods) {
        const entry = Object.entries(definition).find(([, d]) => d.path === `/${service.typeName}/${m.name}`);
        assert.ok(entry, `the generated ${service.typeName} lacks ${m.name}`);
        const rule = (getOption as (e: DescMethod, x: unknown) => unknown)(m, httpExt) as HttpRuleShape | undefined;
        assert.ok(rule?.pattern.case, `${service.typeName}/${m.name} has no google.api.http binding`);
        assert.equal(rule.additionalBindings.length, 0, `${service.typeName}/${m.name}: additional bindings need rows of their own here`);
        const c = rule.pattern.case;
        const [method, template] = c === 'custom' ? [(rule.pattern.value as { kind: string }).kind, (rule.pattern.value as { path: string }).path] : [c.toUpperCase(), rule.pattern.value as string];
        out.push({ key: `${s.name}/${m.name}`, desc: m, definition: entry[1] as MethodDefinition<unknown, unknown>, grpcName: entry[0], service: definition, http: { method, path: template, body: rule.body } });
      }
    }
  }
  return out;
}

/** A proto field path (`node.id`, `alias_name`) in a proto3 JSON object. */
function jsonAt(json: JsonObject, fieldPath: string): JsonValue | undefined {
  let v: JsonValue | undefined = json;
  for (const seg of fieldPath.split('.')) v = v && typeof v === 'object' && !Array.isArray(v) ? v[seg.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] : undefined;
  return v;
}

/** The REST request for a method's request: path variables filled in, the body as the binding says, the rest in the query string. */
export function restRequest(m: MethodInfo, json: JsonObject): { method: string; path: string; body?: JsonValue } {
  const pathFields: string[] = [];
  let p = m.http.path.replace(/\{([^}=]+)(?:=[^}]*)?\}/g, (_, field: string) => {
    pathFields.push(field.split('.')[0]!.replace(/_([a-z0-9])/g, (__, c: string) => c.toUpperCase()));
    return encodeURIComponent(String(jsonAt(json, field) ?? ''));
  });
  if (m.http.body === '*') return { method: m.http.method, path: p, body: json };
  const bodyField = m.http.body ? m.http.body.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : undefined;
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(json)) {
    if (k === bodyField || pathFields.includes(k)) continue;
    assert.ok(typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean', `${m.key}: ${k} cannot go in a query string`);
    query.set(k, String(v));
  }
  if ([...query.keys()].length > 0) p += `?${query}`;
  return { method: m.http.method, path: p, body: bodyField ? (json[bodyField] ?? {}) : undefined };
}

/** How a call ended: its gRPC code (OK on success), and for REST the HTTP status and body. */
export interface Answer {
  code: Code;
  http?: number;
  message: string;
  body?: unknown;
}

/** Calls any method with a request in proto3 JSON, through a generated gRPC client or its REST route. */
export class MethodCaller {
  private readonly clients = new Map<string, Client & Record<string, any>>();

  constructor(
    private readonly grpcAddress: string,
    private readonly httpBase: string,
  ) {}

  async grpc(m: MethodInfo, json: JsonObject, headers: Record<string, string>): Promise<Answer> {
    const input = m.desc.input;
    const request = m.definition.requestDeserialize(Buffer.from(toBinary(input, fromJson(input, json, { registry: descriptors().registry }))));
    const client = this.clientOf(m);
    if (m.definition.responseStream) {
      // A server stream: its status ends it (a stream that follows is never asked for here).
      return new Promise((resolve) => {
        const call = client[m.grpcName](request, metadataOf(headers));
        call.on('data', () => {});
        call.on('error', (err: ServiceError) => resolve({ code: err.code, message: err.details }));
        call.on('status', (status: { code: number; details: string }) => {
          if (status.code === Code.OK) resolve({ code: Code.OK, message: '' });
        });
      });
    }
    return new Promise((resolve) => {
      client[m.grpcName](request, metadataOf(headers), (err: ServiceError | null) => resolve(err ? { code: err.code, message: err.details } : { code: Code.OK, message: '' }));
    });
  }

  async rest(m: MethodInfo, json: JsonObject, headers: Record<string, string>): Promise<Answer> {
    const r = restRequest(m, json);
    const res = await rest(this.httpBase, r.method, r.path, r.body, headers);
    const code = res.status === 200 ? Code.OK : (res.body?.code as Code);
    return { code, http: res.status, message: res.body?.message ?? '', body: res.body };
  }

  /** One client per service, made from its generated definition. */
  private clientOf(m: MethodInfo): Client & Record<string, any> {
    const service = m.definition.path.split('/')[1]!;
    let client = this.clients.get(service);
    if (!client) {
      const Ctor = makeGenericClientConstructor(m.service, service);
      client = new Ctor(this.grpcAddress, credentials.createInsecure()) as Client & Record<string, any>;
      this.clients.set(service, client);
    }
    return client;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
