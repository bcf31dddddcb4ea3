import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Ends the instances the process runtime recorded under `dataDir`: they are
 * process groups of their own that outlive Berth by design (the next start
 * adopts them), so a test that is done with its data dir ends them itself.
 */
export function endProcessInstances(dataDir: string): void {
  const stateDir = path.join(dataDir, 'processes');
  for (const file of existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.endsWith('.json')) : []) {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(stateDir, file), 'utf8'));
      if (Number.isInteger(pid) && pid > 1) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
