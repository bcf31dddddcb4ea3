import { existsSync, readFileSync, readdirSync } from 'node:fs';

/**
 * What the process runtime asks the operating system about its processes.
 *
 * A pid alone proves nothing: after an instance dies the kernel may give its
 * pid to an unrelated process, which Berth must neither report as the instance
 * nor signal. On Linux, `/proc/<pid>/environ` settles it: every instance
 * process carries `BERTH_INSTANCE_ID=<id>` (and its children inherit it).
 * Elsewhere there is no such check and a live pid is taken at its word.
 */

/** Whether /proc describes processes here (Linux), checked once. */
const HAS_PROC = existsSync('/proc/self/stat');

interface ProcStat {
  /** R, S, D, T, Z (zombie), X (dead), ... */
  state: string;
  pgrp: number;
}

/** `/proc/<pid>/stat`; undefined when the process does not exist. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ...": comm may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, , pgrp] = fields;
  if (state === undefined || pgrp === undefined) return undefined;
  return { state, pgrp: Number(pgrp) };
}

/** A zombie has finished: it only waits for its parent to collect its exit status. */
function isFinished(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X' || stat.state === 'x';
}

/** Whether the process's environment (or, if that is unreadable, its command line) names the instance. */
function carriesInstanceId(pid: number, instanceId: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(`BERTH_INSTANCE_ID=${instanceId}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((arg) => arg.includes(instanceId));
  } catch {
    return false;
  }
}

/** Signal 0 checks that a pid exists and may be signalled, without signalling it. */
function signallable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is a live (not zombie) process of the instance. */
export function isInstanceProcess(pid: number, instanceId: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  if (!HAS_PROC) return signallable(pid);
  const stat = readStat(pid);
  if (!stat || isFinished(stat)) return false;
  return carriesInstanceId(pid, instanceId);
}

/**
 * The live processes of an instance's process group (the one its first
 * process leads, `pgid` = that pid): the program and whatever it started
 * that did not leave the group. Only those carrying the instance id count, so
 * a group whose id was reused by an unrelated program is not the instance's.
 */
export function instanceGroup(pgid: number, instanceId: string): number[] {
  if (!Number.isInteger(pgid) || pgid <= 1) return [];
  if (!HAS_PROC) return signallable(-pgid) ? [pgid] : [];
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = readStat(pid);
    if (stat && stat.pgrp === pgid && !isFinished(stat) && carriesInstanceId(pid, instanceId)) members.push(pid);
  }
  return members;
}
