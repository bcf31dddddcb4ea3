import { LIMITS } from './limits';
import { Violations, checkDescription, checkId, checkName } from './validation';

export interface AliasTarget {
  nodeId: string;
  /** Percent of calls, 0-100; the targets' weights sum to 100. */
  weight: number;
}

export type AliasAccess = 'private' | 'public';

export interface Alias {
  id: string;
  folderId: string;
  name: string;
  description: string;
  targets: AliasTarget[];
  metadata: Record<string, string>;
  access: AliasAccess;
  createTime: Date;
  updateTime: Date;
  version: number;
}

export type AliasInput = Pick<Alias, 'folderId' | 'name' | 'description' | 'targets' | 'metadata' | 'access'>;

export const MAX_ALIAS_TARGETS = 16;

/** Checks what can be checked without reading other resources. */
export function validateAlias(input: AliasInput, prefix = 'alias'): void {
  const v = new Violations();
  checkId(v, `${prefix}.folder_id`, input.folderId);
  checkName(v, `${prefix}.name`, input.name);
  checkDescription(v, `${prefix}.description`, input.description);
  const field = `${prefix}.targets`;
  if (input.targets.length === 0) v.add(field, 'at least one target is required');
  if (input.targets.length > MAX_ALIAS_TARGETS) v.add(field, `has ${input.targets.length} targets; at most ${MAX_ALIAS_TARGETS}`);
  const seen = new Set<string>();
  let sum = 0;
  input.targets.forEach((t, i) => {
    checkId(v, `${field}[${i}].node_id`, t.nodeId);
    if (seen.has(t.nodeId)) v.add(`${field}[${i}].node_id`, `node ${t.nodeId} is listed twice`);
    seen.add(t.nodeId);
    if (!Number.isInteger(t.weight) || t.weight < 0 || t.weight > 100) v.add(`${field}[${i}].weight`, `is ${t.weight}; must be an integer from 0 to 100`);
    sum += t.weight;
  });
  if (input.targets.length > 0 && sum !== 100) v.add(`${field}`, `weights sum to ${sum}; they must sum to 100`);
  const keys = Object.keys(input.metadata);
  if (keys.length > LIMITS.metadataEntries) v.add(`${prefix}.metadata`, `has ${keys.length} entries; at most ${LIMITS.metadataEntries}`);
  for (const key of keys.slice(0, LIMITS.metadataEntries)) {
    const at = `${prefix}.metadata.${key.slice(0, 64)}`;
    if (key.length === 0 || key.length > LIMITS.metadataKeyChars) v.add(at, `keys are 1-${LIMITS.metadataKeyChars} characters`);
    if (input.metadata[key]!.length > LIMITS.metadataValueChars) v.add(at, `values are at most ${LIMITS.metadataValueChars} characters`);
  }
  v.throwIfAny();
}

/**
 * Picks a target by weight from a number in [0, 1). Pure so that the split can
 * be tested exactly; the caller passes Math.random().
 */
export function pickTarget(targets: readonly AliasTarget[], r: number): AliasTarget | undefined {
  // Compare r with each boundary as a fraction (sum / 100) rather than r * 100
  // with the sum: r * 100 rounds (0.29 * 100 < 29), which would move a
  // boundary and give a 29/71 split 30/70 over r = i / 100.
  let sum = 0;
  for (const t of targets) {
    sum += t.weight;
    if (t.weight > 0 && r < sum / 100) return t;
  }
  return [...targets].reverse().find((t) => t.weight > 0);
}
