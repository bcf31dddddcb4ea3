/** The summary of a Berth CPU profile (node --cpu-prof) that the benchmarks print. */

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/**
 * Self time of Berth's CPU profile (the newest .cpuprofile in `dir`), by
 * function and by source file. The profile spans Berth's whole life,
 * start-up included; idle time is left out.
 */
export function summarizeProfile(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files[files.length - 1];
  if (file === undefined) return `no .cpuprofile was written in ${dir}`;
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  const short = (url: string): string => url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '').replace(/^.*node_modules\//, 'node_modules/');
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') continue;
    busy += us;
    const where = frame.url === '' ? frame.functionName : short(frame.url);
    const fn = `${frame.functionName || '(anonymous)'}  ${frame.url === '' ? '' : `${where}:${frame.lineNumber + 1}`}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(where, (byFile.get(where) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  return `CPU profile ${path.join(dir, file)}: ${(busy / 1e6).toFixed(1)} s busy\n\nself time by file:\n${top(byFile, 25)}\n\nself time by function:\n${top(byFunction, 40)}`;
}
