import { fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { ValidationError, type FieldViolation } from '../domain/errors';
import { LIMITS } from '../domain/limits';
import { asciiText } from '../domain/ascii-text';
import { pathPart } from './request-text';

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
const strictUtf8 = (bytes: Uint8Array): string => asciiText(bytes) ?? strictDecoder.decode(bytes);

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

/** The path of the first string of a leniently decoded message that holds U+FFFD: where the bad UTF-8 was. */
function replacedText(desc: DescMessage, message: unknown, prefix: string): string | undefined {
  if (message === null || typeof message !== 'object') return undefined;
  const obj = message as Record<string, unknown>;
  const bad = (v: unknown): boolean => typeof v === 'string' && v.includes('\ufffd');
  for (const field of desc.fields) {
    const value = obj[field.localName];
    const path = prefix + field.name;
    if (bad(value)) return path;
    if (field.fieldKind === 'list' && Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        const hit = bad(item) ? `${path}[${i}]` : field.listKind === 'message' ? replacedText(field.message, item, `${path}[${i}].`) : undefined;
        if (hit) return hit;
      }
    } else if (field.fieldKind === 'map' && value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        const at = `${path}.${pathPart(key)}`;
        const hit = bad(key) || bad(item) ? at : field.mapKind === 'message' ? replacedText(field.message, item, `${at}.`) : undefined;
        if (hit) return hit;
      }
    } else if (field.fieldKind === 'message' && value && typeof value === 'object') {
      const hit = replacedText(field.message, value, `${path}.`);
      if (hit) return hit;
    }
  }
  return undefined;
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
