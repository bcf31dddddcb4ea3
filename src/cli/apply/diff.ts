import { isDeepStrictEqual } from 'node:util';

/** One field that differs: where, what it is, what the manifest wants. */
export interface Change {
  path: string;
  from?: unknown;
  to?: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The changes that make `actual` say what `desired` says. Only the fields the
 * manifest sets count (Berth fills in defaults the manifest may leave out);
 * lists, and the maps named in `whole`, are compared as a whole, so an entry
 * left out of a list or a map is a change.
 */
export function subsetDiff(desired: unknown, actual: unknown, path: string, whole: ReadonlySet<string> = new Set()): Change[] {
  if (isPlainObject(desired) && !whole.has(path)) {
    if (!isPlainObject(actual)) return [{ path, from: actual, to: desired }];
    return Object.keys(desired).flatMap((key) => subsetDiff(desired[key], actual[key], path ? `${path}.${key}` : key, whole));
  }
  return isDeepStrictEqual(desired, actual ?? (isPlainObject(desired) ? {} : actual)) ? [] : [{ path, from: actual, to: desired }];
}

/** Every leaf of a value, as the additions of a resource about to be created. */
export function leaves(value: unknown, path: string): Change[] {
  if (isPlainObject(value) && Object.keys(value).length > 0) return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
  return [{ path, to: value }];
}

const show = (value: unknown): string => (value === undefined ? '(unset)' : JSON.stringify(value));

/** `~ spec.instanceRange.max: 1 → 2`, `+ spec.docker.image: "web:1"`. */
export function formatChange(change: Change): string {
  if (!('from' in change) || change.from === undefined) return `+ ${change.path}: ${show(change.to)}`;
  return `~ ${change.path}: ${show(change.from)} → ${show(change.to)}`;
}
