import type { EntityManager, EntityName } from '@mikro-orm/core';

/** Ids bound per query: well under every database's limit on bound parameters. */
const CHUNK = 500;

/** Which of these ids have a row of the entity, asked in chunks. */
export async function existingIds<T extends { id: string }>(em: EntityManager, entity: EntityName<T>, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the filter is on the id column every entity here has
    const rows = await em.find(entity, { id: { $in: unique.slice(i, i + CHUNK) } } as any, { fields: ['id'] as any, disableIdentityMap: true });
    for (const row of rows) found.add(row.id);
  }
  return found;
}
