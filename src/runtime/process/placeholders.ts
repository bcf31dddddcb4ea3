import type { InstanceSpec } from '../runtime';

/**
 * Only Berth's own placeholders are expanded, so that any other `${...}` text
 * (a shell snippet a program interprets itself, say) reaches the program as
 * written. There is no shell: expansion is plain string replacement.
 */
const PLACEHOLDER = /\$\{(BERTH_(?:PORT|MOUNT)_[A-Za-z0-9_]+)\}/g;

/** The environment variable that carries the host port picked for a container port. */
export function portVariable(containerPort: number): string {
  return `BERTH_PORT_${containerPort}`;
}

/** The environment variable that carries a mount's host path. */
export function mountVariable(name: string): string {
  return `BERTH_MOUNT_${name}`;
}

/**
 * The `BERTH_PORT_<port>` and `BERTH_MOUNT_<name>` values of one instance: a
 * process has no container to map ports and paths into, so it is told where
 * they are instead.
 */
export function placeholderValues(hostPorts: ReadonlyMap<number, number>, spec: Pick<InstanceSpec, 'mounts'>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [containerPort, hostPort] of hostPorts) values[portVariable(containerPort)] = String(hostPort);
  for (const mount of spec.mounts ?? []) values[mountVariable(mount.name)] = mount.source;
  return values;
}

/**
 * Replaces `${BERTH_PORT_<n>}` and `${BERTH_MOUNT_<name>}` with their values.
 * An unknown placeholder is left as it is rather than emptied, so the mistake
 * shows in the instance's command and logs.
 */
export function expandPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}

/**
 * The program and its arguments, as Docker would combine entrypoint and
 * command: `command[0]` runs with the rest of `command` and then `args`; with
 * no command, `args[0]` is the program. Undefined when both are empty (a
 * process has no image default to fall back on).
 */
export function commandLine(
  spec: Pick<InstanceSpec, 'command' | 'args'>,
  values: Readonly<Record<string, string>>,
): { program: string; args: string[] } | undefined {
  const [program, ...args] = [...spec.command, ...spec.args].map((part) => expandPlaceholders(part, values));
  return program === undefined || program === '' ? undefined : { program, args };
}
