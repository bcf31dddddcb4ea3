import { ValidationError, quoted } from './errors';
import { LIMITS } from './limits';
import type { NodeSpec } from './node';
import { Violations } from './validation';

/**
 * A named configuration of the operator's catalog: the resources of each
 * instance of a node that names it, and the billing units an instance-second
 * of it counts (the seed's configurations: CPU presets and a GPU one, each
 * with its price in units).
 */
export interface Configuration {
  name: string;
  description: string;
  /** CPU cores of each instance. */
  cpu: number;
  memoryBytes: number;
  gpu: number;
  /** Billing units per instance-second. */
  units: number;
}

/** The catalog nodes name configurations from, and whether they may give raw values instead. */
export interface ConfigurationCatalog {
  configurations: Configuration[];
  /** Whether a node may give cpu, memory and gpu without a name. */
  rawAllowed: boolean;
}

/** The resources a node spec gives each instance. */
export type ResourceConfiguration = NodeSpec['configuration'];

const GiB = 2 ** 30;

/**
 * Shipped when the operator gives no catalog: CPU presets at 4 GiB per core
 * and one GPU configuration, each priced by {@link rawUnitsOf}'s formula, so
 * that naming a preset costs what giving its values raw would.
 */
export const DEFAULT_CONFIGURATIONS: readonly Configuration[] = [
  { name: 'small', description: '1 CPU core, 4 GiB', cpu: 1, memoryBytes: 4 * GiB, gpu: 0, units: 2 },
  { name: 'medium', description: '4 CPU cores, 16 GiB', cpu: 4, memoryBytes: 16 * GiB, gpu: 0, units: 8 },
  { name: 'large', description: '16 CPU cores, 64 GiB', cpu: 16, memoryBytes: 64 * GiB, gpu: 0, units: 32 },
  { name: 'gpu', description: '8 CPU cores, 48 GiB, 1 GPU', cpu: 8, memoryBytes: 48 * GiB, gpu: 1, units: 40 },
];

/** The formula of {@link rawUnitsOf}, as ListConfigurations tells it. */
export const RAW_UNITS_FORMULA = 'cpu cores (0, no limit, counts as 1) + 0.25 per GiB of memory + 20 per GPU';

/**
 * Units per instance-second of a raw configuration (no name): a core counts
 * 1, a GiB of memory 0.25, a GPU 20. An instance without a CPU limit counts
 * as one core, so that no instance is free.
 */
export function rawUnitsOf(c: Pick<ResourceConfiguration, 'cpu' | 'memoryBytes' | 'gpu'>): number {
  return (c.cpu > 0 ? c.cpu : 1) + 0.25 * (c.memoryBytes / GiB) + 20 * c.gpu;
}

/**
 * Units per instance-second of a node's configuration: its named
 * configuration's as the catalog prices it now, or, for a raw one (or a name
 * the catalog no longer has), the formula's.
 */
export function unitsOf(c: ResourceConfiguration, catalog: ConfigurationCatalog): number {
  const named = c.name ? catalog.configurations.find((k) => k.name === c.name) : undefined;
  return named ? named.units : rawUnitsOf(c);
}

function knownNames(catalog: ConfigurationCatalog): string {
  return catalog.configurations.length === 0 ? 'the catalog is empty' : `known: ${catalog.configurations.map((c) => c.name).join(', ')}`;
}

/**
 * The configuration a node gets from what its spec says, checked against the
 * catalog. A name newly set gives that configuration's cpu, memory and gpu
 * (values sent with it are replaced); a name kept from `current` keeps the
 * values the node got when it was set, so a catalog changed since neither
 * moves its instances nor refuses its other updates. An unknown name is
 * INVALID_ARGUMENT listing the known ones; a raw configuration where raw ones
 * are not allowed too, unless it is the node's unchanged one.
 */
export function resolveConfiguration(
  wanted: ResourceConfiguration,
  catalog: ConfigurationCatalog,
  current?: ResourceConfiguration,
  field = 'node.spec.configuration',
): ResourceConfiguration {
  const name = wanted.name ?? '';
  if (name !== '') {
    if (current && current.name === name) return { ...current };
    const named = catalog.configurations.find((c) => c.name === name);
    if (!named) throw ValidationError.of(`${field}.name`, `${quoted(name)} is not a configuration of this server; ${knownNames(catalog)}`);
    return { name, cpu: named.cpu, memoryBytes: named.memoryBytes, gpu: named.gpu };
  }
  const raw = { name: '', cpu: wanted.cpu, memoryBytes: wanted.memoryBytes, gpu: wanted.gpu };
  const unchanged = current !== undefined && (current.name ?? '') === '' && current.cpu === raw.cpu && current.memoryBytes === raw.memoryBytes && current.gpu === raw.gpu;
  if (!catalog.rawAllowed && !unchanged)
    throw ValidationError.of(`${field}.name`, `is required: this server allows only named configurations (${knownNames(catalog)})`);
  return raw;
}

const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/**
 * The catalog from the operator's file: `{"configurations": [{"name",
 * "description", "cpu", "memoryBytes" (or "memory_bytes"), "gpu", "units"}]}`.
 * Every mistake is reported at once, with the entry it is in.
 */
export function parseConfigurations(text: string): Configuration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  const list = (doc as { configurations?: unknown } | null)?.configurations;
  if (!Array.isArray(list)) throw new Error('expected an object with a "configurations" list');
  const v = new Violations();
  const seen = new Set<string>();
  const out = list.map((entry: unknown, i): Configuration => {
    const at = `configurations[${i}]`;
    const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!['name', 'description', 'cpu', 'memoryBytes', 'memory_bytes', 'gpu', 'units'].includes(key)) v.add(`${at}.${key}`, 'is not a field of a configuration');
    const name = typeof e.name === 'string' ? e.name : '';
    if (!NAME.test(name)) v.add(`${at}.name`, `${quoted(String(e.name ?? ''))} is not a name (1-63 of a-z, 0-9, ".", "_", "-")`);
    else if (seen.has(name)) v.add(`${at}.name`, `${quoted(name)} is given twice`);
    seen.add(name);
    const num = (key: string, value: unknown, min: number, max: number, integer: boolean): number => {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) v.add(`${at}.${key}`, `is ${JSON.stringify(value)}; must be ${integer ? 'a whole number ' : ''}from ${min} to ${max}`);
      return n;
    };
    const description = typeof e.description === 'string' ? e.description : '';
    if (description.length > LIMITS.descriptionChars) v.add(`${at}.description`, `at most ${LIMITS.descriptionChars} characters`);
    return {
      name,
      description,
      cpu: num('cpu', e.cpu, 0.001, 64, false),
      memoryBytes: num('memory_bytes', e.memoryBytes ?? e.memory_bytes, LIMITS.memoryBytesMin, LIMITS.memoryBytesMax, true),
      gpu: num('gpu', e.gpu ?? 0, 0, 8, true),
      units: num('units', e.units, 0, 1e9, false),
    };
  });
  try {
    v.throwIfAny();
  } catch (err) {
    if (err instanceof ValidationError) throw new Error(err.violations.map((x) => `${x.field}: ${x.description}`).join('; '));
    throw err;
  }
  return out;
}
