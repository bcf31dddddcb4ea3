import type { Duration } from '../../gen/google/protobuf/duration';
import { ValidationError } from '../domain/errors';

export function durationToMs(d: Duration | undefined): number {
  if (!d) return 0;
  return d.seconds * 1000 + Math.round(d.nanos / 1e6);
}

export function msToDuration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/**
 * A request field that names a resource: empty is INVALID_ARGUMENT naming the
 * field, not a NOT_FOUND for the resource with the empty id.
 */
export function required(value: string, field: string): string {
  if (value === '') throw ValidationError.of(field, 'is required');
  return value;
}

/** Enum value → domain string through a table; unknown and UNSPECIFIED values are a field error. */
export function enumFrom<E extends number, T>(value: E, table: Partial<Record<number, T>>, field: string, required = true): T | undefined {
  const mapped = table[value];
  if (mapped === undefined && (required || value !== 0))
    throw ValidationError.of(field, value === 0 ? 'is required' : `has the unknown value ${value}`);
  return mapped;
}

export function enumTo<T extends string | number>(value: T, table: Record<string, number>): number {
  return table[String(value)] ?? 0;
}

/** Inverts a number → string table. */
export function invert(table: Record<number, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [v, Number(k)]));
}
