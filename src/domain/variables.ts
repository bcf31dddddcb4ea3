import { Violations } from './validation';
import type { Variable, VariableType } from './node';
import { aliasShape, nodeShape, type ApiShape, type TypedAlias, type TypedNode } from './typed-api';

/** A JSON value as checkpoint workers exchange them: bytes are base64 strings. */
export type WireValue = null | boolean | number | string | WireValue[] | { [key: string]: WireValue };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int as a number, or as a decimal string when it is beyond 2^53 (a JSON
 * number would round it; the worker reads both): the value stays exact from
 * the caller to the cell. Ints are int64, as the generated API declares them.
 */
function intValue(value: unknown): { ok: true; value: WireValue } | { ok: false; why: string } {
  let n: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'bigint') n = value;
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
  else return { ok: false, why: 'an integer' };
  if (n < INT64_MIN || n > INT64_MAX) return { ok: false, why: 'an integer in the int64 range' };
  return { ok: true, value: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString() };
}

function scalar(type: VariableType, value: unknown): { ok: true; value: WireValue } | { ok: false; why: string } {
  switch (type) {
    case 'int':
      return intValue(value);
    case 'float':
      if (typeof value === 'number') return { ok: true, value };
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return { ok: true, value };
      return { ok: false, why: 'a number' };
    case 'str':
      return typeof value === 'string' ? { ok: true, value } : { ok: false, why: 'a string' };
    case 'bool':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false, why: 'true or false' };
    case 'bytes':
      if (typeof value !== 'string') return { ok: false, why: 'bytes as a base64 string' };
      if (BASE64.test(value)) return { ok: true, value };
      if (BASE64URL.test(value)) return { ok: true, value: Buffer.from(value, 'base64url').toString('base64') };
      return { ok: false, why: 'bytes as a base64 string' };
    case 'list':
      return Array.isArray(value) ? { ok: true, value: value as WireValue[] } : { ok: false, why: 'a list' };
    case 'dict':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? { ok: true, value: value as WireValue } : { ok: false, why: 'a dict (JSON object)' };
    default:
      return { ok: false, why: `a ${type}` };
  }
}

/** Checks one value against its declared type; returns the wire value or why it does not fit. */
export function checkValue(type: VariableType, value: unknown): { ok: true; value: WireValue } | { ok: false; why: string } {
  const m = /^list\[(\w+)\]$/.exec(type);
  if (!m) return scalar(type, value);
  if (!Array.isArray(value)) return { ok: false, why: `a ${type}` };
  const out: WireValue[] = [];
  for (const [i, item] of value.entries()) {
    const r = scalar(m[1] as VariableType, item);
    if (!r.ok) return { ok: false, why: `a ${type}; item ${i} is not ${r.why}` };
    out.push(r.value);
  }
  return { ok: true, value: out };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

/**
 * Checks a call's inputs against the declared input variables before any
 * user code runs: every declared input present and of its type, nothing else.
 */
export function checkInputs(declared: Variable[], inputs: Record<string, unknown>, field = 'input'): Record<string, WireValue> {
  const v = new Violations();
  const out: Record<string, WireValue> = {};
  const known = new Set(declared.map((d) => d.name));
  for (const name of Object.keys(inputs)) if (!known.has(name)) v.add(`${field}.${name}`, `is not an input of this node; its inputs are ${declared.map((d) => d.name).join(', ') || 'none'}`);
  for (const d of declared) {
    if (!(d.name in inputs) || inputs[d.name] === undefined) {
      v.add(`${field}.${d.name}`, `is required (${d.type})`);
      continue;
    }
    const r = checkValue(d.type, inputs[d.name]);
    if (r.ok) out[d.name] = r.value;
    else v.add(`${field}.${d.name}`, `must be ${r.why}, not ${describe(inputs[d.name])}`);
  }
  v.throwIfAny();
  return out;
}

/** The protobuf type a declared variable maps to in a node's generated API. */
export function protoTypeOf(type: VariableType): { repeated: boolean; type: string } {
  const m = /^list\[(\w+)\]$/.exec(type);
  const base = (t: string): string =>
    ({ int: 'int64', float: 'double', str: 'string', bool: 'bool', bytes: 'bytes', list: 'google.protobuf.ListValue', dict: 'google.protobuf.Struct' })[t] ?? 'string';
  return m ? { repeated: true, type: base(m[1]!) } : { repeated: false, type: base(type) };
}

/** The `.proto` source of a checkpoint node's typed service. */
export function nodeProtoSource(node: TypedNode): string {
  return protoSource(nodeShape(node), [
    '// The typed API of a Berth checkpoint node.',
    `// Node "${node.name}" (${node.id}) in folder "${node.folderName}" (${node.folderId}), restored from checkpoint ${node.source.checkpointId}.`,
    '// Names follow the folder and node names, so a node replaced by one of the same name keeps this API.',
    `// Call it on Berth's gRPC port, or over REST: POST /v1/nodes/${node.id}/api:execute with the request in protobuf JSON.`,
  ], `// The served cell of node "${node.name}".`);
}

/**
 * The `.proto` source of an alias's typed service. Nothing in it depends on
 * the node the alias points to: it stays the same, byte for byte, across
 * switches between compatible nodes.
 */
export function aliasProtoSource(alias: TypedAlias): string {
  return protoSource(aliasShape(alias), [
    '// The typed API of a Berth alias.',
    `// Alias "${alias.name}" (${alias.id}) in folder "${alias.folderName}" (${alias.folderId}).`,
    '// Every node the alias points to has these inputs and outputs (Berth checks it whenever the alias changes), so this',
    '// file stays the same when the alias is switched, and stubs generated from it keep working.',
    `// Call it on Berth's gRPC port, or over REST: POST /v1/aliases/${alias.id}/api:execute with the request in protobuf JSON.`,
  ], `// The served cell of whichever node alias "${alias.name}" picks for a call.`);
}

function protoSource(shape: ApiShape, header: string[], serviceComment: string): string {
  const { names, inputs, outputs } = shape;
  const needsStruct = [...inputs, ...outputs].some((v) => v.type === 'list' || v.type === 'dict');
  const fields = (vars: Variable[]): string =>
    vars
      .map((v, i) => {
        const t = protoTypeOf(v.type);
        return `  // ${v.type}\n  ${t.repeated ? 'repeated ' : ''}${t.type} ${v.name} = ${i + 1};`;
      })
      .join('\n');
  return [
    ...header,
    '',
    'syntax = "proto3";',
    '',
    `package ${names.package};`,
    '',
    ...(needsStruct ? ['import "google/protobuf/struct.proto";', ''] : []),
    serviceComment,
    `service ${names.service} {`,
    '  // Runs the served cell once: inputs are bound as globals, outputs are read back.',
    '  rpc Execute(ExecuteRequest) returns (ExecuteResponse);',
    '}',
    '',
    '// The input variables of the served cell.',
    'message ExecuteRequest {',
    fields(inputs),
    '}',
    '',
    '// The output variables of the served cell.',
    'message ExecuteResponse {',
    fields(outputs),
    '}',
    '',
  ].join('\n');
}
