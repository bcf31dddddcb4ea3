import { readdirSync, readFileSync } from 'node:fs';

/** Every process's parent, read from /proc; empty where there is no /proc. */
function parentsByPid(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue;
    }
    // The command name (in parentheses) may hold spaces and parentheses: the fields follow the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(name));
    else children.set(ppid, [Number(name)]);
  }
  return children;
}

/** The pids whose parent chain leads to `root` (Linux; empty elsewhere). */
function descendantsOf(root: number): number[] {
  const children = parentsByPid();
  const found: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const pid of children.get(stack.pop()!) ?? []) {
      found.push(pid);
      stack.push(pid);
    }
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: it is gone already; EPERM: not ours.
  }
}

/**
 * Kills a process started with `detached: true` together with everything it
 * started: its process group, and also the descendants that left the group
 * (a new session), which a group kill does not reach. Every descendant found
 * is stopped before the next scan, so none can start another meanwhile; then
 * all are killed. Without /proc only the group is killed.
 */
export function killProcessTree(pid: number): void {
  const seen = new Set<number>();
  signal(-pid, 'SIGSTOP');
  for (let round = 0; round < 100; round++) {
    const found = descendantsOf(pid).filter((p) => !seen.has(p));
    if (found.length === 0) break;
    for (const p of found) {
      seen.add(p);
      signal(p, 'SIGSTOP');
    }
  }
  signal(-pid, 'SIGKILL');
  for (const p of seen) signal(p, 'SIGKILL');
}

/** Kills what is left of a process group whose leader has exited. */
export function killProcessGroup(pgid: number): void {
  signal(-pgid, 'SIGKILL');
}
