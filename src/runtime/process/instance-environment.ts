import type { InstanceSpec } from '../runtime';

/**
 * What an instance inherits from Berth's own environment. Berth's environment
 * holds its database URL and other secrets, which a container would never see,
 * so an instance gets only what it needs to find programs and behave like a
 * login session; everything else comes from the spec.
 */
export const INHERITED_ENV: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR'];

/** Used when Berth itself runs without a PATH, so that bare program names still resolve. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The environment of an instance's process: the inherited variables (and any
 * `LC_*` locale setting), then the spec's `env`, then Berth's own variables,
 * which win. `BERTH_INSTANCE_ID` in particular must be Berth's: it is how the
 * runtime recognises the process in `/proc/<pid>/environ` after a restart.
 */
export function instanceEnvironment(
  spec: Pick<InstanceSpec, 'env' | 'nodeId' | 'instanceId'>,
  placeholders: Readonly<Record<string, string>>,
  parent: NodeJS.ProcessEnv = process.env,
  inherit: readonly string[] = INHERITED_ENV,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && (inherit.includes(name) || name.startsWith('LC_'))) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  Object.assign(env, spec.env, placeholders);
  env.BERTH_INSTANCE_ID = spec.instanceId;
  env.BERTH_NODE_ID = spec.nodeId;
  return env;
}
