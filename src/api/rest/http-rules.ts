import { getOption, type DescMethod, type DescService, type Registry } from '@bufbuild/protobuf';

/** One HTTP binding of a gRPC method, as its google.api.http option declares it. */
export interface HttpBinding {
  service: DescService;
  method: DescMethod;
  /** GET, POST, … (a `custom` rule's kind as written). */
  httpMethod: string;
  /** The path template, such as `/v1/nodes/{node_id}:execute`. */
  path: string;
  /** `*`, a top-level request field name, or empty (no body). */
  body: string;
  responseBody: string;
}

interface HttpRuleShape {
  pattern: { case: string | undefined; value?: unknown };
  body: string;
  responseBody: string;
  additionalBindings: HttpRuleShape[];
}

/**
 * Every HTTP binding of the given services, read from the google.api.http
 * annotations in the descriptors, additional bindings included. The REST
 * transcoder routes by them and the OpenAPI document describes them, so the
 * two cannot disagree; nothing here names a Berth method.
 */
export function httpBindings(registry: Registry, serviceNames: readonly string[]): HttpBinding[] {
  const httpExt = registry.getExtension('google.api.http');
  if (!httpExt) throw new Error('google.api.http is missing from the descriptor set');
  const out: HttpBinding[] = [];
  for (const name of serviceNames) {
    const service = registry.getService(name);
    if (!service) throw new Error(`service ${name} is missing from the descriptor set`);
    for (const method of service.methods) {
      const rule = (getOption as (e: DescMethod, x: unknown) => unknown)(method, httpExt) as HttpRuleShape | undefined;
      if (!rule?.pattern.case) continue;
      for (const r of [rule, ...rule.additionalBindings]) {
        const c = r.pattern.case;
        if (!c) continue;
        const [httpMethod, path] = c === 'custom' ? [(r.pattern.value as { kind: string }).kind, (r.pattern.value as { path: string }).path] : [c.toUpperCase(), r.pattern.value as string];
        out.push({ service, method, httpMethod, path, body: r.body, responseBody: r.responseBody });
      }
    }
  }
  return out;
}
