import type { EntityManager } from '@mikro-orm/core';
import { NodeEntity } from './entities/node.entity';

/** Ids per query, well under every database's limit on bound parameters. */
const CHUNK = 500;

/**
 * Which of these node ids have a node row, nodes being deleted included: the
 * garbage collector removes what a runtime holds only for nodes that are not
 * in the database at all.
 */
export async function existingNodeIds(em: EntityManager, nodeIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(nodeIds)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await em.find(NodeEntity, { id: { $in: unique.slice(i, i + CHUNK) } }, { fields: ['id'], disableIdentityMap: true });
    for (const row of rows) found.add(row.id);
  }
  return found;
}
