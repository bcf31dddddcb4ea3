import type { EntityManager, EntityName, FilterQuery } from '@mikro-orm/core';
import { decodePageToken, encodePageToken, pageSize, type FilterClause, type Page, type PageRequest } from '../domain/listing';

/** Turns parsed filter clauses into an ORM condition; `columns` maps filter fields to properties. */
export function whereOf(clauses: FilterClause[], columns: Record<string, string>): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  for (const c of clauses) {
    const prop = columns[c.field] ?? c.field;
    const value = c.value === 'true' ? true : c.value === 'false' ? false : c.value;
    where[prop] = c.op === 'eq' ? value : { $like: `${c.value.replace(/[\\%_]/g, '\\$&')}%` };
  }
  return where;
}

/**
 * Keyset paging by id (ids sort by creation time): stable under concurrent
 * inserts, unlike offsets. Reads one extra row to know whether a next page exists.
 */
export async function listPage<E extends { id: string }>(
  em: EntityManager,
  entity: EntityName<E>,
  where: Record<string, unknown>,
  page: PageRequest,
  query: string,
  order: 'asc' | 'desc' = 'asc',
): Promise<Page<E>> {
  const size = pageSize(page);
  const after = decodePageToken(page.pageToken, query);
  const cond = { ...where } as Record<string, unknown>;
  if (after !== undefined) cond.id = order === 'asc' ? { $gt: after } : { $lt: after };
  const rows = (await em.find(entity, cond as FilterQuery<E>, {
    orderBy: { id: order } as never,
    limit: size + 1,
  })) as E[];
  const items = rows.slice(0, size);
  const nextPageToken = rows.length > size ? encodePageToken(items[items.length - 1]!.id, query) : '';
  return { items, nextPageToken };
}
