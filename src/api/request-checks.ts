import { fromBinary, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { ValidationError, type FieldViolation } from '../domain/errors';
import { LIMITS } from '../domain/limits';
import { textProblem } from '../domain/validation';

/**
 * A request whose bytes could not be decoded. grpc-js answers INTERNAL when a
 * deserializer throws, before any handler runs; returning this instead lets
 * the call reach the adapter, which refuses it as INVALID_ARGUMENT naming the
 * field, like any other bad input.
 */
export class MalformedRequest {
  constructor(readonly error: ValidationError) {}
}

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Protobuf strings must be UTF-8; the default reader silently turns bad bytes into U+FFFD. */
const strictUtf8 = (bytes: Uint8Array): string => strictDecoder.decode(bytes);

/** Messages whose value is data, not text Berth stores: their strings are not checked as text. */
const DATA_MESSAGES = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Timestamp']);

/** A map key or other caller text as part of a field path: cut short, control characters escaped. */
function pathPart(key: string): string {
  const short = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return /[\u0000-\u001f\u007f\ud800-\udfff]/.test(short) ? JSON.stringify(short).slice(1, -1) : short;
}

/** Limits that hold for a field wherever it occurs, by its proto name. */
function lengthLimit(field: DescField): number | undefined {
  switch (field.name) {
    case 'filter':
      return LIMITS.filterChars;
    case 'page_token':
      return LIMITS.pageTokenChars;
    case 'etag':
      return LIMITS.etagChars;
    default:
      return field.name === 'id' || field.name.endsWith('_id') ? LIMITS.idChars : undefined;
  }
}

function checkString(out: FieldViolation[], path: string, value: unknown, field?: DescField): void {
  if (typeof value !== 'string') return;
  const problem = textProblem(value);
  if (problem) {
    out.push({ field: path, description: problem });
    return;
  }
  const max = field && lengthLimit(field);
  if (max !== undefined && value.length > max) out.push({ field: path, description: `is ${value.length} characters long; at most ${max}` });
}

function walk(out: FieldViolation[], desc: DescMessage, message: unknown, prefix: string): void {
  if (message === null || typeof message !== 'object') return;
  const obj = message as Record<string, unknown>;
  for (const field of desc.fields) {
    const value = obj[field.localName];
    if (value === undefined || value === null) continue;
    const path = prefix + field.name;
    if (field.fieldKind === 'scalar') checkString(out, path, value, field);
    else if (field.fieldKind === 'list') {
      if (!Array.isArray(value)) continue;
      value.forEach((item, i) => {
        if (field.listKind === 'scalar') checkString(out, `${path}[${i}]`, item);
        else if (field.listKind === 'message' && !DATA_MESSAGES.has(field.message.typeName)) walk(out, field.message, item, `${path}[${i}].`);
      });
    } else if (field.fieldKind === 'map') {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const at = `${path}.${pathPart(key)}`;
        const keyProblem = textProblem(key);
        if (keyProblem) out.push({ field: at, description: `the key ${keyProblem}` });
        if (field.mapKind === 'scalar') checkString(out, at, item);
        else if (field.mapKind === 'message' && !DATA_MESSAGES.has(field.message.typeName)) walk(out, field.message, item, `${at}.`);
      }
    } else if (field.fieldKind === 'message') {
      const typeName = field.message.typeName;
      if (typeName === 'google.protobuf.FieldMask') {
        // ts-proto holds a FieldMask as its list of paths.
        const paths = Array.isArray(value) ? value : ((value as { paths?: unknown[] }).paths ?? []);
        if (paths.length > LIMITS.maskPaths) out.push({ field: path, description: `has ${paths.length} paths; at most ${LIMITS.maskPaths}` });
        paths.slice(0, LIMITS.maskPaths).forEach((p, i) => checkString(out, `${path}.paths[${i}]`, p));
      } else if (!DATA_MESSAGES.has(typeName)) walk(out, field.message, value, `${path}.`);
    }
  }
}

/**
 * Checks every string of a decoded request as text (no NUL, valid UTF-8) and
 * the fields whose limit is the same wherever they occur (ids, filters, page
 * tokens, etags, update masks). Resource-specific limits are the domain's.
 */
export function checkRequestText(desc: DescMessage, request: unknown): void {
  const out: FieldViolation[] = [];
  walk(out, desc, request, '');
  if (out.length > 0) throw new ValidationError(out.slice(0, 20));
}

/** The first int64 of a decoded message (bigint) that a JavaScript number cannot hold exactly. */
function inexactInt64(desc: DescMessage, message: unknown, prefix: string): FieldViolation | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const obj = message as Record<string, unknown>;
  const outOfRange = (v: unknown): boolean => typeof v === 'bigint' && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER));
  for (const field of desc.fields) {
    const value = obj[field.localName];
    const path = prefix + field.name;
    if (field.fieldKind === 'scalar' && outOfRange(value)) {
      // A Duration's seconds: name the Duration, as a caller writes it ("timeout": "…s").
      if (desc.typeName === 'google.protobuf.Duration' && prefix)
        return { field: prefix.slice(0, -1), description: `is ${String(value)} seconds; at most ${LIMITS.durationSecondsMax}` };
      return { field: path, description: `is ${String(value)}; out of range (at most ${Number.MAX_SAFE_INTEGER})` };
    }
    if (field.fieldKind === 'list' && Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        if (field.listKind === 'scalar' && outOfRange(item)) return { field: `${path}[${i}]`, description: `is ${String(item)}; out of range` };
        if (field.listKind === 'message') {
          const hit = inexactInt64(field.message, item, `${path}[${i}].`);
          if (hit) return hit;
        }
      }
    }
    if (field.fieldKind === 'map' && field.mapKind === 'message' && value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const hit = inexactInt64(field.message, item, `${path}.${pathPart(key)}.`);
        if (hit) return hit;
      }
    }
    if (field.fieldKind === 'message' && value !== undefined) {
      const hit = inexactInt64(field.message, value, `${path}.`);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** The first string of a leniently decoded message that holds U+FFFD: where the bad UTF-8 was. */
function replacedText(desc: DescMessage, message: unknown, prefix: string): string | undefined {
  const visit = (d: DescMessage, m: unknown, p: string): string | undefined => {
    if (m === null || typeof m !== 'object') return undefined;
    const obj = m as Record<string, unknown>;
    for (const field of d.fields) {
      const value = obj[field.localName];
      const path = p + field.name;
      if (typeof value === 'string' && value.includes('\ufffd')) return path;
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) {
          if (typeof item === 'string' && item.includes('\ufffd')) return `${path}[${i}]`;
          if (field.fieldKind === 'list' && field.listKind === 'message') {
            const hit = visit(field.message, item, `${path}[${i}].`);
            if (hit) return hit;
          }
        }
      } else if (field.fieldKind === 'map' && value && typeof value === 'object') {
        for (const [key, item] of Object.entries(value)) {
          if (key.includes('\ufffd') || (typeof item === 'string' && item.includes('\ufffd'))) return `${path}.${pathPart(key)}`;
          if (field.mapKind === 'message') {
            const hit = visit(field.message, item, `${path}.${pathPart(key)}.`);
            if (hit) return hit;
          }
        }
      } else if (field.fieldKind === 'message' && value && typeof value === 'object') {
        const hit = visit(field.message, value, `${path}.`);
        if (hit) return hit;
      }
    }
    return undefined;
  };
  return visit(desc, message, prefix);
}

/**
 * Decodes a request's bytes with the method's own deserializer, strictly:
 * invalid UTF-8 in a string and an int64 a number cannot hold exactly (above
 * 2^53) are refused rather than replaced or rounded. A failure is located
 * with the descriptor so that the refusal names the field.
 */
export function decodeRequest(definition: MethodDefinition<unknown, unknown>, desc: DescMessage, bytes: Buffer): unknown {
  try {
    return (definition.requestDeserialize as (input: unknown) => unknown)(new BinaryReader(bytes, strictUtf8));
  } catch (err) {
    throw new ValidationError([locate(definition, desc, bytes, err as Error)]);
  }
}

function locate(definition: MethodDefinition<unknown, unknown>, desc: DescMessage, bytes: Buffer, err: Error): FieldViolation {
  const message = err.message;
  try {
    if (err instanceof TypeError && /encoded data was not valid/i.test(message)) {
      const lenient = definition.requestDeserialize(bytes);
      const at = replacedText(desc, lenient, '');
      return { field: at ?? 'request', description: 'is not valid UTF-8' };
    }
    if (/MAX_SAFE_INTEGER|MIN_SAFE_INTEGER/.test(message)) {
      const exact = fromBinary(desc, bytes);
      const hit = inexactInt64(desc, exact, '');
      if (hit) return hit;
    }
  } catch {
    // Not decodable even leniently: the whole request is malformed.
  }
  return { field: 'request', description: `is not a valid ${desc.typeName} in protobuf binary form: ${message}` };
}

/**
 * A copy of a service definition whose request deserializers never throw: a
 * request that cannot be decoded becomes a {@link MalformedRequest}, which the
 * adapter refuses as INVALID_ARGUMENT.
 */
export function withSafeDeserializers(definition: ServiceDefinition, inputOf: (path: string) => DescMessage): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(definition) as Array<[string, MethodDefinition<unknown, unknown>]>) {
    const desc = inputOf(method.path);
    out[key] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decodeRequest(method, desc, bytes);
        } catch (err) {
          return new MalformedRequest(err as ValidationError);
        }
      },
    };
  }
  return out as ServiceDefinition;
}
