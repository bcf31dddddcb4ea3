import { scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { call } from '../../client';
import { codeCellsOf } from '../../checkpoint/notebook';
import { Alias, aliasAccessFromJSON, type AliasTarget } from '../../../gen/berth/v1/alias';
import { CheckpointState } from '../../../gen/berth/v1/checkpoint';
import { Node, NodeSpec } from '../../../gen/berth/v1/node';
import type { Secret } from '../../../gen/berth/v1/secret';
import { CliError, UsageError } from '../cli-errors';
import { variableTypeName } from '../commands/nodes';
import { fromProtoJson, toProtoJson } from '../proto-json';
import type { Session } from '../session';
import { nodeSettledWaitable, operationWaitable, waitAll, type Waitable } from '../wait';
import { leaves, subsetDiff, type Change } from './diff';
import type { AliasManifest, CheckpointManifest, Manifest, NodeManifest, SecretManifest, SecretValue } from './manifest';

export type Action = 'create' | 'update' | 'unchanged';

/** What apply did (or, with --dry-run, would do) to one resource. */
export interface ApplyResult {
  kind: Manifest['kind'];
  name: string;
  action: Action;
  changes: Change[];
}

export interface ApplyOptions {
  dryRun: boolean;
  wait: boolean;
  /** Called as each resource is decided, before it is waited for: the user sees what happens as it happens. */
  report: (result: ApplyResult) => void;
}

/**
 * The label holding a digest of a secret's values: values cannot be read
 * back, so this is how a second apply knows they are unchanged. scrypt, salted
 * with the secret's folder and name, so that the label does not make guessing
 * a weak value cheap.
 */
export const SECRET_DIGEST_LABEL = 'berth.values-digest';

function secretValue(value: SecretValue, dir: string, where: string): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    if ('value' in value) return String(value.value);
    if ('env' in value) {
      const v = process.env[value.env];
      if (v === undefined) throw new UsageError(`${where}: the environment variable ${value.env} is not set`);
      return v;
    }
    if ('file' in value) return readFileSync(path.resolve(dir, value.file), 'utf8');
  }
  throw new UsageError(`${where}: a value is a string, {value: …}, {env: VAR} or {file: PATH}`);
}

function secretDigest(folderId: string, name: string, entries: Array<{ key: string; value: string }>): string {
  const sorted = [...entries].sort((a, b) => a.key.localeCompare(b.key)).map((e) => [e.key, e.value]);
  return scryptSync(JSON.stringify(sorted), `berth-secret:${folderId}/${name}`, 32).toString('base64url');
}

/** The four phases run in dependency order, whatever the order of the documents. */
export async function apply(session: Session, manifests: Manifest[], options: ApplyOptions): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  const record = (r: ApplyResult) => {
    results.push(r);
    options.report(r);
  };
  const of = <K extends Manifest['kind']>(kind: K) => manifests.filter((m): m is Extract<Manifest, { kind: K }> => m.kind === kind);
  const folderId = await session.folderId();

  // Secrets first: nodes name them.
  const secrets = new Map((await session.listSecrets()).map((s) => [s.name, s]));
  for (const m of of('Secret')) record(await applySecret(session, folderId, m, secrets.get(m.name), options));

  // Checkpoints next, captured before the nodes that serve them are created.
  const checkpointIds = new Map((await session.listCheckpoints()).map((c) => [c.name, c.id]));
  const captures: Waitable[] = [];
  for (const m of of('Checkpoint')) {
    const r = await applyCheckpoint(session, folderId, m, options);
    record(r.result);
    if (r.id) checkpointIds.set(m.name, r.id);
    if (r.wait) captures.push(r.wait);
  }
  if (options.wait || of('Node').length > 0) await waitAll(captures);

  // Nodes: all created or updated, then waited for together.
  const secretIds = new Map((options.dryRun ? [...secrets.values()] : await session.listSecrets()).map((s) => [s.name, s.id]));
  // A dry run created nothing: the secrets it would create are named by placeholders.
  for (const m of of('Secret')) if (!secretIds.has(m.name)) secretIds.set(m.name, `(secret ${m.name}, to be created)`);
  const nodes = new Map((await session.listNodes()).map((n) => [n.name, n]));
  const rollouts: Waitable[] = [];
  for (const m of of('Node')) {
    const spec = resolveNodeSpec(m, checkpointIds, secretIds);
    const r = await applyNode(session, folderId, m, spec, nodes.get(m.name), options);
    record(r.result);
    if (r.wait) rollouts.push(r.wait);
    if (r.node) nodes.set(m.name, r.node);
  }
  if (options.wait) await waitAll(rollouts);

  // Aliases last: their targets are nodes.
  const aliases = new Map((await session.listAliases()).map((a) => [a.name, a]));
  const targets = options.dryRun || of('Node').length === 0 ? nodes : new Map((await session.listNodes()).map((n) => [n.name, n]));
  for (const m of of('Alias')) record(await applyAlias(session, folderId, m, targets, aliases.get(m.name), options));
  return results;
}

async function applySecret(session: Session, folderId: string, m: SecretManifest, existing: Secret | undefined, options: ApplyOptions): Promise<ApplyResult> {
  const entries = Object.entries(m.entries).map(([key, value]) => ({ key, value: secretValue(value, m.dir, `${m.source}: entries.${key}`) }));
  const digest = secretDigest(folderId, m.name, entries);
  const labels = { ...(m.labels ?? {}), [SECRET_DIGEST_LABEL]: digest };
  const result: ApplyResult = { kind: 'Secret', name: m.name, action: 'unchanged', changes: [] };
  if (!existing) {
    result.action = 'create';
    result.changes = entries.map((e) => ({ path: `entries.${e.key}`, to: '(hidden)' }));
    if (!options.dryRun) await call(session.berth.secrets, 'createSecret', { folderId, name: m.name, description: m.description ?? '', labels, entries });
    return result;
  }
  const valuesChanged = existing.labels[SECRET_DIGEST_LABEL] !== digest;
  if (valuesChanged) {
    const before = existing.entries.map((e) => e.key).sort();
    result.changes.push({ path: 'entries', from: before, to: `${JSON.stringify(entries.map((e) => e.key).sort())} (new values)` });
  }
  const mask: string[] = [];
  if ((m.description ?? '') !== existing.description) {
    mask.push('description');
    result.changes.push({ path: 'description', from: existing.description, to: m.description ?? '' });
  }
  const { [SECRET_DIGEST_LABEL]: _old, ...oldLabels } = existing.labels;
  if (JSON.stringify(Object.entries(oldLabels).sort()) !== JSON.stringify(Object.entries(m.labels ?? {}).sort())) {
    result.changes.push({ path: 'labels', from: oldLabels, to: m.labels ?? {} });
  }
  if (result.changes.length === 0) return result;
  result.action = 'update';
  if (options.dryRun) return result;
  // A new version changes the etag: the update that follows starts from it.
  const latest = valuesChanged ? await call(session.berth.secrets, 'addSecretVersion', { secretId: existing.id, entries, etag: existing.etag }) : existing;
  await call(session.berth.secrets, 'updateSecret', {
    secret: { ...latest, description: m.description ?? '', labels },
    updateMask: [...mask, 'labels'],
  });
  return result;
}

async function applyCheckpoint(
  session: Session,
  folderId: string,
  m: CheckpointManifest,
  options: ApplyOptions,
): Promise<{ result: ApplyResult; id?: string; wait?: Waitable }> {
  let notebook: string;
  try {
    notebook = readFileSync(m.notebook, 'utf8');
  } catch (err) {
    throw new UsageError(`${m.source}: cannot read the notebook: ${(err as Error).message}`);
  }
  const cells = codeCellsOf(notebook);
  const served = m.cell ?? cells.length - 1;
  const result: ApplyResult = { kind: 'Checkpoint', name: m.name, action: 'unchanged', changes: [] };
  const existing = (await session.listCheckpoints()).find((c) => c.name === m.name);
  if (existing && existing.state !== CheckpointState.CHECKPOINT_STATE_FAILED) {
    const changed = JSON.stringify(existing.cellSources) !== JSON.stringify(cells) || existing.servedCellIndex !== served;
    if (changed)
      throw new CliError(
        `${m.source}: the notebook or its served cell changed, and a checkpoint is immutable (pinned): ` +
          'give the new one another name and point the nodes at it',
      );
    return { result, id: existing.id };
  }
  result.action = 'create';
  result.changes = [
    { path: 'notebook', to: m.notebook },
    { path: 'servedCellIndex', to: served },
  ];
  if (options.dryRun) return { result, id: `(checkpoint ${m.name}, to be captured)` };
  if (existing) await call(session.berth.checkpoints, 'deleteCheckpoint', { checkpointId: existing.id }); // a failed capture is tried again
  const op = await call(session.berth.checkpoints, 'createCheckpoint', {
    folderId,
    name: m.name,
    description: m.description ?? '',
    notebook,
    servedCellIndex: m.cell,
    environmentImage: m.environmentImage ?? '',
  });
  return { result, id: op.resourceId, wait: operationWaitable(session, op, `checkpoint ${m.name}`) };
}

const ENUM_PREFIXES: Record<string, string> = { endpoint: 'ENDPOINT_TYPE_', healthCheck: 'HEALTH_CHECK_TYPE_' };

/** The manifest's spec in proto JSON: names → ids, short enum names (`http`, `float`) → full ones. */
export function resolveNodeSpec(m: NodeManifest, checkpointIds: Map<string, string>, secretIds: Map<string, string>): Record<string, any> {
  const spec = structuredClone(m.spec);
  const need = (map: Map<string, string>, kind: string, name: unknown): string => {
    const id = map.get(String(name));
    if (!id) throw new UsageError(`${m.source}: no ${kind} ${JSON.stringify(name)} in the folder or the manifests`);
    return id;
  };
  const cp = spec.checkpoint;
  if (cp) {
    if (cp.checkpoint !== undefined) {
      cp.checkpointId = need(checkpointIds, 'checkpoint', cp.checkpoint);
      delete cp.checkpoint;
    }
    for (const list of ['inputVariables', 'outputVariables'])
      if (Array.isArray(cp[list])) cp[list] = cp[list].map((v: any) => (typeof v?.type === 'string' ? { ...v, type: variableTypeName(v.type) } : v));
  }
  const docker = spec.docker;
  if (docker) {
    if (docker.registrySecret !== undefined) {
      docker.registrySecretId = need(secretIds, 'secret', docker.registrySecret);
      delete docker.registrySecret;
    }
    if (Array.isArray(docker.envFromSecrets))
      docker.envFromSecrets = docker.envFromSecrets.map((e: any) => {
        if (e?.secret === undefined) return e;
        const { secret, ...rest } = e;
        return { ...rest, secretId: need(secretIds, 'secret', secret) };
      });
    for (const [field, prefix] of Object.entries(ENUM_PREFIXES)) {
      const t = docker[field]?.type;
      if (typeof t === 'string' && !t.startsWith(prefix)) docker[field].type = `${prefix}${t.toUpperCase()}`;
    }
  }
  return spec;
}

/** Fields of a node compared whole: maps, where a key left out is a change. */
const WHOLE = new Set(['spec.docker.env', 'labels']);

async function applyNode(
  session: Session,
  folderId: string,
  m: NodeManifest,
  specJson: Record<string, any>,
  existing: Node | undefined,
  options: ApplyOptions,
): Promise<{ result: ApplyResult; wait?: Waitable; node?: Node }> {
  let spec: NodeSpec;
  try {
    spec = fromProtoJson(NodeSpec, 'berth.v1.NodeSpec', specJson);
  } catch (err) {
    throw new UsageError(`${m.source}: spec: ${(err as Error).message}`);
  }
  const desired = { description: m.description ?? '', labels: m.labels ?? {}, spec: toProtoJson(NodeSpec, 'berth.v1.NodeSpec', spec) };
  const result: ApplyResult = { kind: 'Node', name: m.name, action: 'unchanged', changes: [] };
  if (!existing) {
    result.action = 'create';
    result.changes = leaves(desired.spec, 'spec');
    if (options.dryRun) return { result };
    const op = await call(session.berth.nodes, 'createNode', {
      node: Node.fromPartial({ folderId, name: m.name, description: desired.description, labels: desired.labels, spec }),
    });
    return { result, wait: operationWaitable(session, op, `node ${m.name}`) };
  }
  const actual = toProtoJson(Node, 'berth.v1.Node', existing) as Record<string, unknown>;
  result.changes = subsetDiff(desired, { description: actual.description ?? '', labels: actual.labels ?? {}, spec: actual.spec }, '', WHOLE);
  if (result.changes.length === 0) return { result, node: existing };
  result.action = 'update';
  if (options.dryRun) return { result, node: existing };
  const patch = Node.fromPartial({ ...existing, description: desired.description, labels: desired.labels, spec });
  const node = await call(session.berth.nodes, 'updateNode', { node: patch, updateMask: result.changes.map((c) => c.path) });
  return { result, node, wait: nodeSettledWaitable(session, node, `node ${m.name}`) };
}

async function applyAlias(
  session: Session,
  folderId: string,
  m: AliasManifest,
  nodes: Map<string, Node>,
  existing: Alias | undefined,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const targets: AliasTarget[] = m.targets.map((t) => {
    const node = nodes.get(t.node);
    if (!node && !options.dryRun) throw new UsageError(`${m.source}: no node ${JSON.stringify(t.node)} in the folder or the manifests`);
    return { nodeId: node?.id ?? `(node ${t.node})`, weight: t.weight ?? 100 };
  });
  const nameOf = (nodeId: string) => [...nodes.values()].find((n) => n.id === nodeId)?.name ?? nodeId;
  const shown = (ts: AliasTarget[]) => ts.map((t) => `${nameOf(t.nodeId)}=${t.weight}`).sort();
  const result: ApplyResult = { kind: 'Alias', name: m.name, action: 'unchanged', changes: [] };
  const access = m.access === undefined ? undefined : aliasAccessFromJSON(m.access.startsWith('ALIAS_ACCESS_') ? m.access : `ALIAS_ACCESS_${m.access.toUpperCase()}`);
  if (!existing) {
    result.action = 'create';
    result.changes = [{ path: 'targets', to: shown(targets) }];
    if (!options.dryRun)
      await call(session.berth.aliases, 'createAlias', {
        alias: Alias.fromPartial({ folderId, name: m.name, description: m.description ?? '', targets, ...(access !== undefined ? { access } : {}) }),
      });
    return result;
  }
  const mask: string[] = [];
  if (JSON.stringify(shown(existing.targets)) !== JSON.stringify(shown(targets))) {
    mask.push('targets');
    result.changes.push({ path: 'targets', from: shown(existing.targets), to: shown(targets) });
  }
  if ((m.description ?? '') !== existing.description) {
    mask.push('description');
    result.changes.push({ path: 'description', from: existing.description, to: m.description ?? '' });
  }
  if (access !== undefined && access !== existing.access) {
    mask.push('access');
    result.changes.push({ path: 'access', from: existing.access, to: m.access });
  }
  if (mask.length === 0) return result;
  result.action = 'update';
  if (!options.dryRun)
    await call(session.berth.aliases, 'updateAlias', {
      alias: { ...existing, targets, description: m.description ?? '', ...(access !== undefined ? { access } : {}) },
      updateMask: mask,
    });
  return result;
}
