import type { Instance } from '../domain/instance';
import type { ObservedInstance } from '../runtime/runtime';

/**
 * What a settled node looked like at the end of its last pass: its version,
 * its instance rows, what the runtime ran and its pending operations. When
 * the full resync finds the same, a pass would find nothing to do.
 */
export function fingerprintOf(
  version: number,
  rows: Array<Pick<Instance, 'id' | 'state' | 'runtimeId' | 'generation'>>,
  observed: Array<Pick<ObservedInstance, 'instanceId' | 'runtimeId' | 'state'>>,
  pending: string[],
): string {
  return JSON.stringify([
    version,
    [...rows].sort((a, b) => a.id.localeCompare(b.id)).map((r) => [r.id, r.state, r.runtimeId, r.generation]),
    [...observed].sort((a, b) => a.instanceId.localeCompare(b.instanceId)).map((o) => [o.instanceId, o.runtimeId, o.state]),
    [...pending].sort(),
  ]);
}
