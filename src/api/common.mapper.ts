import type { Duration } from '../../gen/google/protobuf/duration';
import { ValidationError } from '../domain/errors';
import { LIMITS } from '../domain/limits';

/**
 * A Duration in milliseconds. With `field`, a Duration outside what
 * google.protobuf.Duration allows (±10,000 years, nanos within a second and of
 * the seconds' sign) is INVALID_ARGUMENT naming the field, not a number the
 * rest of Berth would have to survive.
 */
export function durationToMs(d: Duration | undefined, field?: string): number {
  if (!d) return 0;
  if (field !== undefined) {
    const { seconds, nanos } = d;
    if (!Number.isSafeInteger(seconds) || Math.abs(seconds) > LIMITS.durationSecondsMax)
      throw ValidationError.of(field, `is ${seconds} seconds; at most ${LIMITS.durationSecondsMax}`);
    if (!Number.isInteger(nanos) || Math.abs(nanos) > 999_999_999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0))
      throw ValidationError.of(field, `has nanos ${nanos}; nanos are within one second and of the sign of the seconds`);
  }
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
