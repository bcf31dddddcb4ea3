import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostPort } from '../runtime';

/**
 * What the process runtime knows about one instance, kept in
 * `<stateDir>/<instanceId>.json`. A process has no labels an engine could list
 * it by, so this file plays their part: after a restart Berth reads these
 * files back to find (and adopt) the processes an earlier Berth started.
 */
export interface InstanceRecord {
  folderId: string;
  nodeId: string;
  instanceId: string;
  generation: number;
  /** The run id of the runtime that started it (null when it had none), to scope test runs. */
  runId: string | null;
  /** The process, and the id of its process group (it leads its own). */
  pid: number;
  /** Published ports by container port (JSON keys are strings). */
  ports: Record<string, HostPort>;
  /** ISO 8601. */
  startedAt: string;
  /** The program and arguments actually run, after expansion. */
  command: string[];
}

/**
 * Instance ids become file names: anything that could leave the state or log
 * directory (or hide as a dot file) is refused.
 */
export function isFileSafeId(id: string): boolean {
  return /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(id) && id.length <= 200;
}

export function recordPath(stateDir: string, instanceId: string): string {
  return join(stateDir, `${instanceId}.json`);
}

function isHostPort(value: unknown): value is HostPort {
  if (typeof value !== 'object' || value === null) return false;
  const { host, port } = value as Record<string, unknown>;
  return typeof host === 'string' && typeof port === 'number' && Number.isInteger(port);
}

/** Checks a parsed state file; undefined when it is not one this runtime wrote. */
export function parseRecord(value: unknown): InstanceRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const strings = [v.folderId, v.nodeId, v.instanceId, v.startedAt];
  if (!strings.every((s) => typeof s === 'string' && s !== '')) return undefined;
  if (typeof v.generation !== 'number' || !Number.isInteger(v.generation)) return undefined;
  if (typeof v.pid !== 'number' || !Number.isInteger(v.pid) || v.pid <= 1) return undefined;
  if (v.runId !== null && typeof v.runId !== 'string') return undefined;
  if (!Array.isArray(v.command) || !v.command.every((c) => typeof c === 'string')) return undefined;
  if (typeof v.ports !== 'object' || v.ports === null || !Object.values(v.ports).every(isHostPort)) return undefined;
  return {
    folderId: v.folderId as string,
    nodeId: v.nodeId as string,
    instanceId: v.instanceId as string,
    generation: v.generation,
    runId: v.runId,
    pid: v.pid,
    ports: v.ports as Record<string, HostPort>,
    startedAt: v.startedAt as string,
    command: v.command as string[],
  };
}

/**
 * Writes the record so that a reader (or a Berth killed half-way) sees either
 * the old file or the whole new one: a temporary file is written and synced,
 * then renamed over the old one.
 */
export async function writeRecord(stateDir: string, record: InstanceRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const target = recordPath(stateDir, record.instanceId);
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** The record of one instance; undefined when there is none (or it is unreadable). */
export async function readRecord(stateDir: string, instanceId: string): Promise<InstanceRecord | undefined> {
  let text: string;
  try {
    text = await readFile(recordPath(stateDir, instanceId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const record = parseRecord(JSON.parse(text));
    return record?.instanceId === instanceId ? record : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every record in the state directory (only those of the instance ids
 * `wanted` accepts, when given: the others are not even read), with the names
 * of the files that are not valid records (for a warning). A missing
 * directory holds none.
 */
export async function readRecords(stateDir: string, wanted?: (instanceId: string) => boolean): Promise<{ records: InstanceRecord[]; invalid: string[] }> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], invalid: [] };
    throw err;
  }
  const records: InstanceRecord[] = [];
  const invalid: string[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const instanceId = name.slice(0, -'.json'.length);
    if (!isFileSafeId(instanceId) || (wanted && !wanted(instanceId))) continue;
    const record = await readRecord(stateDir, instanceId);
    if (record) records.push(record);
    // Gone since the listing (removed concurrently) is not invalid.
    else if (await exists(join(stateDir, name))) invalid.push(name);
  }
  return { records, invalid };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Removing a record that is already gone is success. */
export async function removeRecord(stateDir: string, instanceId: string): Promise<void> {
  await rm(recordPath(stateDir, instanceId), { force: true });
}
