import { existsSync } from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The package's root folder, from sources (tsx) or from the build (dist/). */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'proto'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find Berth's package root above ${__dirname}`);
    dir = up;
  }
  root = dir;
  return dir;
}

/** The Python worker that captures checkpoints and serves checkpoint instances. */
export function workerScript(): string {
  return path.join(packageRoot(), 'worker', 'berth_worker.py');
}
