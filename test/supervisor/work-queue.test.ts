import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, crashLoopRestart } from '../../src/domain/backoff';
import { WorkQueue, type ReconcileResult } from '../../src/supervisor/work-queue';
import { FakeClock } from '../helpers/fake-clock';

/** Lets queued passes (promises) run. */
const settle = () => new Promise((r) => setImmediate(r));

/** A queue whose passes are recorded, with a script of what each pass of a key does. */
function harness(script: (key: string, n: number) => ReconcileResult | Error | Promise<ReconcileResult> = () => ({}), concurrency = 2) {
  const clock = new FakeClock();
  const passes: Array<{ key: string; at: number }> = [];
  const counts = new Map<string, number>();
  const queue = new WorkQueue<string>({
    clock,
    concurrency,
    reconcile: async (key) => {
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      passes.push({ key, at: clock.now() });
      const r = await script(key, n);
      if (r instanceof Error) throw r;
      return r;
    },
  });
  const times = (key: string) => passes.filter((p) => p.key === key).map((p) => p.at - 1_000_000);
  return { clock, queue, passes, times };
}

describe('backoffDelayMs', () => {
  const table: Array<[number, number]> = [
    [0, 0],
    [1, 500],
    [2, 1000],
    [3, 2000],
    [4, 4000],
    [6, 16_000],
    [7, 30_000],
    [8, 30_000],
    [10_000, 30_000],
  ];
  for (const [failures, ms] of table) it(`waits ${ms} ms before retry ${failures}`, () => assert.equal(backoffDelayMs(failures), ms));
});

describe('crashLoopRestart', () => {
  const cases: Array<{ name: string; loop?: { failures: number; diedAtMs?: number }; now: number; healthyFor: number; waitMs: number; failures: number }> = [
    { name: 'unknown instance (Berth restarted): at once', now: 5000, healthyFor: 0, waitMs: 0, failures: 1 },
    { name: 'first death, just seen: 0.5 s', loop: { failures: 0 }, now: 1100, healthyFor: 0, waitMs: 500, failures: 1 },
    { name: 'first death seen 0.1 s ago: 0.4 s more', loop: { failures: 0, diedAtMs: 1100 }, now: 1200, healthyFor: 0, waitMs: 400, failures: 1 },
    { name: 'third death in a row: 2 s after it', loop: { failures: 2, diedAtMs: 1200 }, now: 1200, healthyFor: 0, waitMs: 2000, failures: 3 },
    { name: 'waited long enough: at once', loop: { failures: 2, diedAtMs: 1200 }, now: 3300, healthyFor: 0, waitMs: 0, failures: 3 },
    { name: 'many deaths: capped at 30 s', loop: { failures: 50, diedAtMs: 1000 }, now: 1000, healthyFor: 0, waitMs: 30_000, failures: 51 },
    { name: 'healthy long enough before dying: a new count, at once', loop: { failures: 9, diedAtMs: 70_000 }, now: 70_000, healthyFor: 60_000, waitMs: 0, failures: 1 },
    { name: 'healthy only briefly: the loop goes on', loop: { failures: 3, diedAtMs: 2000 }, now: 2000, healthyFor: 500, waitMs: 4000, failures: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(crashLoopRestart(c.loop, c.now, c.healthyFor, 60_000), { waitMs: c.waitMs, failures: c.failures }));
  }
});

describe('WorkQueue', () => {
  it('runs a key once however often it is added while queued', async () => {
    const h = harness(undefined, 1);
    h.queue.add('a');
    h.queue.add('b');
    h.queue.add('b');
    h.queue.add('b');
    await h.queue.idle();
    assert.deepEqual(h.passes.map((p) => p.key), ['a', 'b']);
  });

  it('runs a key again once when it is added during its own pass, never two passes at once', async () => {
    let release!: () => void;
    let running = 0;
    let most = 0;
    const h = harness(async (_key, n) => {
      running++;
      most = Math.max(most, running);
      if (n === 1) await new Promise<void>((r) => (release = r));
      running--;
      return {};
    });
    h.queue.add('a');
    await settle();
    h.queue.add('a');
    h.queue.add('a');
    release();
    await h.queue.idle();
    await h.queue.idle();
    assert.equal(h.passes.length, 2);
    assert.equal(most, 1);
  });

  it('retries a failing key after 0.5 s, 1 s, 2 s … and forgets the failures after a success', async () => {
    const h = harness((_key, n) => (n <= 4 ? new Error('engine down') : {}));
    h.queue.add('a');
    await h.queue.idle();
    for (let i = 0; i < 200; i++) {
      h.clock.advance(100);
      await h.queue.idle();
    }
    assert.deepEqual(h.times('a'), [0, 500, 1500, 3500, 7500]);
    assert.equal(h.queue.failuresOf('a'), 0);
    assert.equal(h.clock.pending(), 0, 'nothing is scheduled after the success');
  });

  it('keeps each key its own backoff', async () => {
    const h = harness((key, n) => (key === 'bad' && n <= 3 ? new Error('no') : {}));
    h.queue.add('bad');
    h.queue.add('good');
    await h.queue.idle();
    assert.equal(h.queue.failuresOf('bad'), 1);
    assert.equal(h.queue.failuresOf('good'), 0);
    h.clock.advance(500);
    await h.queue.idle();
    assert.equal(h.queue.failuresOf('bad'), 2);
  });

  it('runs a key again after the delay its pass asked for', async () => {
    const h = harness((_key, n) => (n === 1 ? { requeueAfterMs: 2000 } : {}));
    h.queue.add('a');
    await h.queue.idle();
    h.clock.advance(1999);
    await h.queue.idle();
    assert.equal(h.passes.length, 1);
    h.clock.advance(1);
    await h.queue.idle();
    assert.deepEqual(h.times('a'), [0, 2000]);
  });

  it('lets an earlier add win over a later delayed one, and an add now cancel a delay', async () => {
    const h = harness();
    h.queue.addAfter('a', 5000);
    h.queue.addAfter('a', 1000);
    h.queue.addAfter('a', 3000);
    h.clock.advance(10_000);
    await h.queue.idle();
    assert.deepEqual(h.times('a'), [1000]);
    h.queue.addAfter('b', 5000);
    h.queue.add('b');
    await h.queue.idle();
    h.clock.advance(10_000);
    await h.queue.idle();
    assert.equal(h.times('b').length, 1, 'the delayed add was replaced by the immediate one');
  });

  it('drops a forgotten key and takes no work once stopped', async () => {
    const h = harness();
    h.queue.addAfter('gone', 1000);
    h.queue.forget('gone');
    h.clock.advance(2000);
    await h.queue.idle();
    assert.equal(h.passes.length, 0);
    await h.queue.stop();
    h.queue.add('late');
    await h.queue.idle();
    assert.equal(h.passes.length, 0);
  });

  it('never runs more keys at once than its concurrency', async () => {
    let running = 0;
    let most = 0;
    const h = harness(async () => {
      running++;
      most = Math.max(most, running);
      await settle();
      running--;
      return {};
    }, 3);
    for (let i = 0; i < 10; i++) h.queue.add(`k${i}`);
    await h.queue.idle();
    assert.equal(h.passes.length, 10);
    assert.equal(most, 3);
  });
});
