/**
 * Names and labels of what Berth creates in Docker. They are the only link
 * between the engine and Berth's database: after a restart, the supervisor
 * finds its instances again by these labels, and a deterministic name makes a
 * second create of the same instance collide instead of duplicating it.
 */

/** The label keys Berth puts on containers and networks. */
export const LABELS = {
  managed: 'berth.managed',
  folderId: 'berth.folder_id',
  nodeId: 'berth.node_id',
  instanceId: 'berth.instance_id',
  generation: 'berth.generation',
  /** Scopes everything one test run creates, so that its cleanup never touches anything else. */
  runId: 'berth.run_id',
} as const;

/** The identity of an instance as recorded in its container's labels. */
export interface InstanceIdentity {
  folderId: string;
  nodeId: string;
  instanceId: string;
  generation: number;
}

/** One container per instance, named so that a repeated create conflicts rather than duplicates. */
export function containerName(nodeId: string, instanceId: string): string {
  return `berth-${nodeId}-${instanceId}`;
}

/** Each node gets its own bridge network, so instances of different nodes cannot reach each other. */
export function networkName(nodeId: string): string {
  return `berth-net-${nodeId}`;
}

/** Labels for an instance's container. */
export function instanceLabels(identity: InstanceIdentity, runId?: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.folderId]: identity.folderId,
    [LABELS.nodeId]: identity.nodeId,
    [LABELS.instanceId]: identity.instanceId,
    [LABELS.generation]: String(identity.generation),
    ...(runId === undefined ? {} : { [LABELS.runId]: runId }),
  };
}

/** Labels for a node's network. */
export function networkLabels(nodeId: string, runId?: string): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.nodeId]: nodeId,
    ...(runId === undefined ? {} : { [LABELS.runId]: runId }),
  };
}

/**
 * Values for Docker's `label` list filter selecting what this runtime manages
 * (narrowed to one run when it has a run id), plus any extra `key=value` terms.
 */
export function scopeFilter(runId: string | undefined, ...extra: string[]): string[] {
  return [
    `${LABELS.managed}=true`,
    ...(runId === undefined ? [] : [`${LABELS.runId}=${runId}`]),
    ...extra,
  ];
}

/** Reads an instance's identity back from container labels; undefined when they are incomplete. */
export function identityFromLabels(labels: Record<string, string> | null | undefined): InstanceIdentity | undefined {
  if (!labels) return undefined;
  const folderId = labels[LABELS.folderId];
  const nodeId = labels[LABELS.nodeId];
  const instanceId = labels[LABELS.instanceId];
  const generation = Number(labels[LABELS.generation]);
  if (!folderId || !nodeId || !instanceId || !Number.isInteger(generation)) return undefined;
  return { folderId, nodeId, instanceId, generation };
}
