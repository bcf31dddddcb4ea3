import { ValidationError } from './errors';
import { LIMITS } from './limits';
import { quoted } from './validation';

/** One clause of a list filter: `field = "value"` or `field:"prefix"`. */
export interface FilterClause {
  field: string;
  op: 'eq' | 'prefix';
  value: string;
}

/** One clause and what follows it: ` AND ` and another clause, or the end. */
const CLAUSE = /\s*([a-z_]+)\s*(=|:)\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.-]+))(?:\s*$|\s+AND\s+(?=\S))/;

/**
 * Fields whose values are not free text, by filter field name: a value
 * outside the list is refused here rather than compared (PostgreSQL refuses
 * `done = 'maybe'` on a boolean column, SQLite quietly matches nothing).
 * Boolean fields take only `=`: a prefix of a boolean means nothing.
 */
const FILTER_VALUES: Record<string, { values: readonly string[]; prefix: boolean }> = {
  done: { values: ['true', 'false'], prefix: false },
  kind: { values: ['docker', 'checkpoint'], prefix: true },
};

/**
 * Parses the small filter language of List methods: clauses joined by AND.
 * Only the given fields may be used, so that a typo is an error rather than
 * an empty page. Clauses are read one after the other, so that a quoted value
 * may itself hold ` AND `.
 */
export function parseFilter(filter: string, allowed: readonly string[], field = 'filter'): FilterClause[] {
  if (filter.trim() === '') return [];
  if (filter.length > LIMITS.filterChars) throw ValidationError.of(field, `is ${filter.length} characters long; at most ${LIMITS.filterChars}`);
  const clauses: FilterClause[] = [];
  const clause = new RegExp(CLAUSE.source, 'y');
  while (clause.lastIndex < filter.length) {
    const start = clause.lastIndex;
    const m = clause.exec(filter);
    if (!m) {
      const rest = filter.slice(start).trim();
      throw ValidationError.of(field, `cannot parse ${quoted(rest)}; use name = "x" or name:"prefix", joined by AND`);
    }
    const name = m[1]!;
    if (!allowed.includes(name)) throw ValidationError.of(field, `cannot filter on ${quoted(name)}; use one of ${allowed.join(', ')}`);
    const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4]!;
    const typed = FILTER_VALUES[name];
    if (typed && m[2] === ':' && !typed.prefix) throw ValidationError.of(field, `${name} takes only "=" (${name} = ${typed.values.join(' or ')})`);
    if (typed && m[2] === '=' && !typed.values.includes(value))
      throw ValidationError.of(field, `${name} = ${quoted(value)}: ${name} is one of ${typed.values.join(', ')}`);
    clauses.push({ field: name, op: m[2] === '=' ? 'eq' : 'prefix', value });
  }
  return clauses;
}

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/** Where a page starts: after the item with this key, in a listing of this query. */
interface PageCursor {
  after: string;
  query: string;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function pageSize(req: PageRequest, field = 'page_size'): number {
  if (!Number.isInteger(req.pageSize) || req.pageSize < 0 || req.pageSize > MAX_PAGE_SIZE)
    throw ValidationError.of(field, `is ${req.pageSize}; must be from 0 to ${MAX_PAGE_SIZE}`);
  return req.pageSize === 0 ? DEFAULT_PAGE_SIZE : req.pageSize;
}

/**
 * Page tokens are opaque to callers but bound to the query that made them, so
 * a token reused with another filter or folder is refused instead of skipping items.
 */
export function encodePageToken(after: string, query: string): string {
  return Buffer.from(JSON.stringify({ after, query } satisfies PageCursor)).toString('base64url');
}

export function decodePageToken(token: string, query: string, field = 'page_token'): string | undefined {
  if (token === '') return undefined;
  if (token.length > LIMITS.pageTokenChars || !/^[A-Za-z0-9_-]+$/.test(token)) throw ValidationError.of(field, 'is not a token returned by this method');
  let cursor: unknown;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw ValidationError.of(field, 'is not a token returned by this method');
  }
  const c = cursor as Partial<PageCursor> | null;
  // The cursor is an id Berth made; a hand-made token must not carry anything else into a query.
  if (typeof c?.after !== 'string' || typeof c.query !== 'string' || !/^[a-z0-9-]{1,64}$/.test(c.after)) throw ValidationError.of(field, 'is not a token returned by this method');
  if (c.query !== query) throw ValidationError.of(field, 'was made for a different folder or filter');
  return c.after;
}

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}
