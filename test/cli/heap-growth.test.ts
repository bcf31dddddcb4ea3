/**
 * `--heap-growth-percent`: the flag is parsed like every other, and the V8
 * flag it sets really bounds the old generation at run time (V8 would
 * otherwise let it grow to about four times the live heap). Each case runs
 * in a child Node process, so the test runner's own heap is left alone.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config';

const HEAP_GROWTH = path.resolve(__dirname, '../../src/cli/heap-growth.ts');

/**
 * Keeps about 45 MB live (300,000 objects, and a ring of the last 100,000
 * churned ones, which live long enough to be promoted) and prints the largest
 * old space seen, in MB.
 */
const CHURN = `
const v8 = require('node:v8');
const { applyHeapGrowth } = require(${JSON.stringify(HEAP_GROWTH)});
const live = [];
for (let i = 0; i < 300000; i++) live.push({ i, s: 'live' + i });
// After the live set is built, as Berth's heap is once it serves.
applyHeapGrowth(Number(process.env.PERCENT), Number(process.env.MIN_MB));
const ring = new Array(100000);
let largest = 0;
(async () => {
  for (let i = 0; i < 5000000; i++) {
    ring[i % ring.length] = { i, s: 'x' + i, a: [i] };
    if (i % 100000 === 0) {
      const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
      largest = Math.max(largest, old.space_size);
      // A turn of the event loop, as a server has between calls: the floor is set there after each full collection.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  process.stdout.write(String(largest / 1048576));
})();
`;

async function largestOldSpaceMb(percent: number, nodeFlags: string[] = [], minMb = 0): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '--require', 'tsx/cjs', '-e', CHURN], {
    env: { ...process.env, PERCENT: String(percent), MIN_MB: String(minMb) },
  });
  return Number(stdout);
}

describe('heap growth', () => {
  it('defaults to 50 % and takes the flag over BERTH_HEAP_GROWTH_PERCENT', () => {
    assert.equal(loadConfig([], {}).heapGrowthPercent, 50);
    assert.equal(loadConfig([], { BERTH_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 0);
    assert.equal(loadConfig(['--heap-growth-percent', '25'], { BERTH_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent, 25);
  });

  it('gives the room a floor of 96 MiB by default, set by flag or BERTH_HEAP_GROWTH_MIN_MB', () => {
    assert.equal(loadConfig([], {}).heapGrowthMinMb, 96);
    assert.equal(loadConfig([], { BERTH_HEAP_GROWTH_MIN_MB: '0' }).heapGrowthMinMb, 0);
    assert.equal(loadConfig(['--heap-growth-min-mb', '128'], { BERTH_HEAP_GROWTH_MIN_MB: '0' }).heapGrowthMinMb, 128);
    assert.throws(() => loadConfig(['--heap-growth-min-mb=-1'], {}), /--heap-growth-min-mb must be a whole number of MiB from 0 to 4096/);
    assert.throws(() => loadConfig(['--heap-growth-min-mb', '1.5'], {}), /--heap-growth-min-mb must be a whole number/);
    assert.throws(() => loadConfig(['--heap-growth-min-mb', '5000'], {}), /--heap-growth-min-mb must be a whole number/);
    assert.throws(() => loadConfig(['--heap-growth-min-mb', ''], {}), /--heap-growth-min-mb must be a whole number/);
  });

  it('refuses values that are not whole percentages, naming the flag', () => {
    assert.throws(() => loadConfig(['--heap-growth-percent=-1'], {}), /--heap-growth-percent must be a whole number from 0 to 1000/);
    assert.throws(() => loadConfig(['--heap-growth-percent', '1.5'], {}), /--heap-growth-percent must be a whole number/);
    assert.throws(() => loadConfig(['--heap-growth-percent', 'x'], {}), /--heap-growth-percent must be a whole number/);
  });

  it('bounds the old generation at run time; a value given to node wins', async () => {
    const bounded = await largestOldSpaceMb(30);
    // What node was told (V8's largest factor, 4) beats what Berth asks for.
    const nodeChose = await largestOldSpaceMb(30, ['--heap-growing-percent=300']);
    // 1.3 × 45 MB, plus what one young generation promotes; V8's own choice here is about 190 MB.
    assert.ok(bounded < 110, `old space reached ${bounded} MB with 30 % growth over about 45 MB live`);
    // 4 × 45 MB.
    assert.ok(nodeChose > 150, `old space reached only ${nodeChose} MB with node's own --heap-growing-percent=300`);
  });

  it('keeps a floor of room in bytes past the live heap, and still bounds it', async () => {
    const percentOnly = await largestOldSpaceMb(30);
    const floored = await largestOldSpaceMb(30, [], 64);
    // 45 MB live + 64 MiB of room is more than 30 % of 45 MB gives...
    assert.ok(floored > percentOnly + 20, `old space reached ${floored} MB with a 64 MiB floor, ${percentOnly} MB without`);
    // ...and far less than V8's own sizing (about 190 MB here).
    assert.ok(floored < 150, `old space reached ${floored} MB with 30 % growth and a 64 MiB floor over about 45 MB live`);
  });
});
