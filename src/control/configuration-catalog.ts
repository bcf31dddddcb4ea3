import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIGURATIONS, parseConfigurations, type Configuration, type ConfigurationCatalog } from '../domain/configuration';

/**
 * The catalog of `--configurations <file>` (JSON, see
 * {@link parseConfigurations}), or the shipped defaults without a file.
 * A file that cannot be read or holds a mistake stops the start, naming it.
 */
export function loadConfigurationCatalog(file: string, rawAllowed: boolean): ConfigurationCatalog {
  if (!file) return { configurations: [...DEFAULT_CONFIGURATIONS], rawAllowed };
  let configurations: Configuration[];
  try {
    configurations = parseConfigurations(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`--configurations ${file}: ${(err as Error).message}`);
  }
  if (configurations.length === 0 && !rawAllowed)
    throw new Error(`--configurations ${file} lists no configuration and --allow-raw-configurations is false: no node could be created`);
  return { configurations, rawAllowed };
}
