import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UsageError } from '../cli-errors';

/**
 * The documents `berth apply` reads. Shapes follow the REST bodies (proto3
 * JSON, README) with names where the API wants ids: a node names its
 * checkpoint and secrets, an alias its nodes, and a checkpoint its notebook
 * file, which is uploaded.
 */
export type Manifest = SecretManifest | CheckpointManifest | NodeManifest | AliasManifest;

interface Common {
  name: string;
  description?: string;
  labels?: Record<string, string>;
  /** Where it came from, for messages: `berth.yaml#2`. */
  source: string;
}

/** A secret's entry: a literal, or read from the environment or a file when applied. */
export type SecretValue = string | { value: string } | { env: string } | { file: string };

export interface SecretManifest extends Common {
  kind: 'Secret';
  entries: Record<string, SecretValue>;
  /** The directory files are relative to. */
  dir: string;
}

export interface CheckpointManifest extends Common {
  kind: 'Checkpoint';
  /** Absolute path of the .ipynb. */
  notebook: string;
  /** The served code cell; default the last. */
  cell?: number;
  environmentImage?: string;
}

export interface NodeManifest extends Common {
  kind: 'Node';
  /** NodeSpec in proto3 JSON, with the name references described above. */
  spec: Record<string, any>;
}

export interface AliasManifest extends Common {
  kind: 'Alias';
  targets: Array<{ node: string; weight?: number }>;
  access?: string;
}

const KINDS = ['Secret', 'Checkpoint', 'Node', 'Alias'] as const;

function fail(source: string, message: string): never {
  throw new UsageError(`${source}: ${message}`);
}

function toManifest(raw: unknown, source: string, dir: string): Manifest {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail(source, 'a document must be a mapping with kind and name');
  const doc = raw as Record<string, any>;
  const kind = doc.kind as string;
  if (!(KINDS as readonly string[]).includes(kind)) fail(source, `kind must be one of ${KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
  // `metadata: {name, description, labels}` is accepted too, for those used to it.
  const meta = { ...(doc.metadata ?? {}), ...doc } as Record<string, any>;
  const name = meta.name;
  if (typeof name !== 'string' || !name) fail(source, `${kind} needs a name`);
  const common = { name, description: meta.description, labels: meta.labels, source: `${source} (${kind} ${name})` };
  const known = (keys: string[]) => {
    for (const key of Object.keys(doc)) if (!['apiVersion', 'kind', 'metadata', 'name', 'description', 'labels', ...keys].includes(key)) fail(common.source, `unknown field ${JSON.stringify(key)}`);
  };
  switch (kind) {
    case 'Secret':
      known(['entries']);
      if (!doc.entries || typeof doc.entries !== 'object') fail(common.source, 'entries: a mapping of KEY: value, {env: VAR} or {file: PATH}');
      return { kind, ...common, entries: doc.entries, dir };
    case 'Checkpoint':
      known(['notebook', 'cell', 'environmentImage']);
      if (typeof doc.notebook !== 'string') fail(common.source, 'notebook: the path of an .ipynb file');
      if (doc.cell !== undefined && !Number.isInteger(doc.cell)) fail(common.source, 'cell: the index of the served code cell');
      return { kind, ...common, notebook: path.resolve(dir, doc.notebook), cell: doc.cell, environmentImage: doc.environmentImage };
    case 'Node':
      known(['spec']);
      if (!doc.spec || typeof doc.spec !== 'object') fail(common.source, 'spec: the node spec (docker or checkpoint, instanceRange…)');
      return { kind, ...common, spec: doc.spec };
    default:
      known(['targets', 'access']);
      if (!Array.isArray(doc.targets) || doc.targets.some((t: any) => typeof t?.node !== 'string'))
        fail(common.source, 'targets: a list of {node: NAME, weight: N}');
      return { kind: 'Alias', ...common, targets: doc.targets, access: doc.access };
  }
}

/** The documents of one file's text (YAML or JSON; `---` separates documents; a top-level list holds several). */
export function parseManifests(text: string, source: string, dir: string): Manifest[] {
  const docs = YAML.parseAllDocuments(text);
  const out: Manifest[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) fail(`${source}#${i + 1}`, doc.errors[0]!.message);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    const items = Array.isArray(value) ? value : [value];
    items.forEach((item, j) => out.push(toManifest(item, `${source}#${i + 1}${Array.isArray(value) ? `[${j}]` : ''}`, dir)));
  });
  return out;
}

/** Reads `-f` arguments: files, directories (their .yaml, .yml and .json files, sorted) or `-` (stdin). */
export function readManifests(sources: string[]): Manifest[] {
  const all: Manifest[] = [];
  for (const source of sources) {
    if (source === '-') {
      all.push(...parseManifests(readFileSync(0, 'utf8'), 'stdin', process.cwd()));
      continue;
    }
    let stat;
    try {
      stat = statSync(source);
    } catch {
      throw new UsageError(`${source}: no such file or directory`);
    }
    const files = stat.isDirectory()
      ? readdirSync(source)
          .filter((f) => /\.(ya?ml|json)$/i.test(f))
          .sort()
          .map((f) => path.join(source, f))
      : [source];
    for (const file of files) all.push(...parseManifests(readFileSync(file, 'utf8'), file, path.dirname(path.resolve(file))));
  }
  const seen = new Set<string>();
  for (const m of all) {
    const key = `${m.kind}/${m.name}`;
    if (seen.has(key)) throw new UsageError(`${m.source}: ${m.kind} ${m.name} appears twice`);
    seen.add(key);
  }
  return all;
}
