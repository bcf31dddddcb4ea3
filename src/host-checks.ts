/** Two questions Berth asks of the host it runs on, from several places. */

import { accessSync, constants } from 'node:fs';

/** Whether a process with this id runs (one of another user's counts: it runs, Berth may not signal it). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a file exists and this process may run it. */
export function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
