import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { ValidationError, type FieldViolation } from '../domain/errors';
import { LIMITS } from '../domain/limits';
import { textProblem } from '../domain/validation';

/** Messages whose value is data, not text Berth stores: their strings are not checked as text. */
const DATA_MESSAGES = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue', 'google.protobuf.Timestamp']);

/** A map key or other caller text as part of a field path: cut short, control characters escaped. */
export function pathPart(key: string): string {
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

