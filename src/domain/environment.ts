import type { Checkpoint } from './checkpoint';

/**
 * What a probe found in an environment a checkpoint could be restored in:
 * its Python and the versions of the packages asked about.
 */
export interface EnvironmentFacts {
  /** How the environment is named to people: `foo:1 (sha256:…)`, or the Python path. */
  label: string;
  /** The Python version, e.g. `3.11.2`; empty when there is no usable python3 (see `problem`). */
  pythonVersion: string;
  /** Each package asked about: its version ("" when present without one), or null when absent. */
  modules: Record<string, string | null>;
  /** Why nothing could be learned, e.g. `has no python3`. */
  problem?: string;
}

/** `3.11.2` → `3.11`; a version with fewer parts is kept as it is. */
export function majorMinor(version: string): string {
  return version.split(/[.+-]/).slice(0, 2).join('.');
}

function describeNeeds(cp: Pick<Checkpoint, 'pythonVersion' | 'moduleVersions'>): string {
  const parts = [`Python ${majorMinor(cp.pythonVersion)}`];
  for (const [name, version] of Object.entries(cp.moduleVersions).sort(([a], [b]) => a.localeCompare(b)))
    parts.push(version ? `${name} ${majorMinor(version)}` : name);
  return parts.join(', ');
}

/**
 * Why the environment cannot restore the checkpoint, or undefined when it can.
 * Restorable means: the same Python major.minor (pickles and the restored
 * definitions are not portable across minor versions), and every package the
 * checkpoint's state needs present with the same major.minor version (a patch
 * release keeps pickled objects loadable; a minor release of e.g.
 * scikit-learn may not). A package whose version is unknown on either side
 * only has to be present.
 */
export function restoreMismatch(
  cp: Pick<Checkpoint, 'id' | 'pythonVersion' | 'moduleVersions' | 'environmentImage' | 'environmentImageId'>,
  env: EnvironmentFacts,
): string | undefined {
  const where = cp.environmentImage
    ? `${cp.environmentImage}${cp.environmentImageId ? ` (${cp.environmentImageId})` : ''}`
    : "Berth's --python";
  const captured = `checkpoint ${cp.id} was captured in ${where} with ${describeNeeds(cp)}`;
  if (env.problem) return `${captured}; environment ${env.label} ${env.problem}`;
  const wrong: string[] = [];
  if (cp.pythonVersion && majorMinor(cp.pythonVersion) !== majorMinor(env.pythonVersion)) wrong.push(`Python ${majorMinor(env.pythonVersion)}`);
  for (const [name, version] of Object.entries(cp.moduleVersions).sort(([a], [b]) => a.localeCompare(b))) {
    const found = env.modules[name];
    if (found === null || found === undefined) wrong.push(`no ${name}`);
    else if (version && found && majorMinor(version) !== majorMinor(found)) wrong.push(`${name} ${majorMinor(found)}`);
  }
  if (wrong.length === 0) return undefined;
  const last = wrong.pop()!;
  return `${captured}; environment ${env.label} has ${wrong.length > 0 ? `${wrong.join(', ')} and ${last}` : last}`;
}

/**
 * The image a checkpoint node's instances restore in: the node's own
 * environment image, else the one its checkpoint was captured in (else, for
 * a checkpoint captured without one, the system image).
 */
export function checkpointImageOf(environmentImage: string, checkpoint: Pick<Checkpoint, 'environmentImage'>, systemImage: string): string {
  return environmentImage || checkpoint.environmentImage || systemImage;
}
