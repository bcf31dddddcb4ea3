// A capture ends at its time limit whatever its cells start, and leaves no process behind:
// not a child in its process group, not one that left for a session of its own, not one
// that holds the worker's pipes open; and output without bound is read with a bound.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { captureCheckpoint, type CaptureOptions } from '../../src/checkpoint/capture';

const PYTHON = process.env.BERTH_PYTHON ?? 'python3';
const TIME_LIMIT_MS = 3_000;

/** Pids of the processes whose command line holds `marker`, read from /proc. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ');
      if (cmdline.includes(marker)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Kills what a failed assertion left, so one failure does not leave sleepers behind. */
function killLeftovers(marker: string): void {
  for (const pid of processesWith(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function run(cells: string[], served: number, extra: Partial<CaptureOptions> = {}) {
  const started = Date.now();
  const result = await captureCheckpoint({ python: PYTHON, cells, served, timeoutMs: TIME_LIMIT_MS, memoryMb: 1024, ...extra });
  return { result, elapsedMs: Date.now() - started };
}

/** Processes may take a moment to be reaped after SIGKILL; none may be left after that. */
async function assertNoneLeft(marker: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  let left = processesWith(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = processesWith(marker).filter((pid) => {
      try {
        // A zombie awaiting its reaper is no longer running.
        return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
      } catch {
        return false;
      }
    });
  }
  killLeftovers(marker);
  assert.deepEqual(left, [], `processes with ${marker} are left running`);
}

describe('capture with cells that start processes', { timeout: 120_000 }, () => {
  for (const [name, marker, start] of [
    ['a detached child (new session) it waits for', '600.101', "subprocess.Popen(['sleep', '600.101'], start_new_session=True).wait()"],
    ['a child in its process group it waits for', '600.102', "subprocess.Popen(['sleep', '600.102']).wait()"],
  ] as const) {
    it(`ends at its time limit with ${name}, and no process of it is left`, async () => {
      const { result, elapsedMs } = await run([`import subprocess\n${start}`, 'y = 1'], 1);
      assert.equal(result.ok, false);
      assert.match((result as { message: string }).message, /cell 0 ran longer than the capture time limit of 3s/);
      assert.ok(elapsedMs < TIME_LIMIT_MS + 8_000, `took ${elapsedMs} ms for a ${TIME_LIMIT_MS} ms limit`);
      await assertNoneLeft(`sleep ${marker}`);
    });
  }

  it('ends at its time limit after a cell printed 100 MB, keeping only the tail of the output', async () => {
    const before = process.memoryUsage().rss;
    const { result, elapsedMs } = await run(
      ["import subprocess, sys, time\nchunk = 'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.write(chunk)\nsys.stdout.flush()\nsubprocess.Popen(['sleep', '600.103']).wait()", 'y = 1'],
      1,
      { timeoutMs: 6_000 },
    );
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, /cell 0 ran longer than the capture time limit of 6s/);
    assert.ok(elapsedMs < 6_000 + 8_000, `took ${elapsedMs} ms`);
    const grownMb = (process.memoryUsage().rss - before) / 1e6;
    assert.ok(grownMb < 60, `Berth's RSS grew by ${grownMb.toFixed(0)} MB while reading 100 MB of output`);
    await assertNoneLeft('sleep 600.103');
  });

  it('succeeds and ends a detached child the cells left running', async () => {
    const { result } = await run(["import subprocess\nsubprocess.Popen(['sleep', '600.104'], start_new_session=True)\nx = 1", 'y = x'], 1);
    try {
      assert.equal(result.ok, true, (result as { message?: string }).message);
      await assertNoneLeft('sleep 600.104');
    } finally {
      if (result.ok) await result.cleanup();
    }
  });

  it('succeeds and ends a child of a child that exited (an orphan, reparented)', async () => {
    const cell =
      "import subprocess, sys\nsubprocess.run([sys.executable, '-c', \"import subprocess; subprocess.Popen(['sleep', '600.105'], start_new_session=True)\"])\nx = 1";
    const { result } = await run([cell, 'y = x'], 1);
    try {
      assert.equal(result.ok, true, (result as { message?: string }).message);
      await assertNoneLeft('sleep 600.105');
    } finally {
      if (result.ok) await result.cleanup();
    }
  });

  it('is killed whole when cancelled, detached children included', async () => {
    const controller = new AbortController();
    const running = run(["import subprocess, time\nsubprocess.Popen(['sleep', '600.106'], start_new_session=True)\nsubprocess.Popen(['sleep', '600.107'])\ntime.sleep(600)", 'y = 1'], 1, {
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    const deadline = Date.now() + 10_000;
    while (processesWith('sleep 600.10').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(processesWith('sleep 600.10').length, 2, 'both children started');
    controller.abort();
    const { result, elapsedMs } = await running;
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, /cancelled/);
    assert.ok(elapsedMs < 15_000, `took ${elapsedMs} ms`);
    await assertNoneLeft('sleep 600.106');
    await assertNoneLeft('sleep 600.107');
  });
});
