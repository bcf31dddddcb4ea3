import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashingMessage, crashLoopFailure, describeCrash, describeExit, lastOutputOf, type CrashRecord } from '../../src/domain/crash-report';
import type { Instance } from '../../src/domain/instance';
import type { InstanceState } from '../../src/domain/node';
import { stepGroups, type Step } from '../../src/domain/planner';

const NOW = new Date('2026-01-01T00:00:00Z');

function inst(id: string, generation = 2, state: InstanceState = 'unhealthy'): Instance {
  return { id, nodeId: 'nd1', folderId: 'f', generation, state, reason: '', runtimeId: `c-${id}`, address: '', startTime: NOW, restartCount: 0, lastHealthCheck: null, createTime: NOW, updateTime: NOW };
}

const crash = (inARow: number, output = 'db password missing'): CrashRecord => ({ inARow, last: { runtimeId: 'c', exitCode: 1, exitReason: 'exit code 1', output } });

describe('the last words of an instance that exited', () => {
  it('keeps the last lines, without blanks, colours or control characters, joined on one line', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['one\n', 'one'],
      ['a\nb\n\n\nc\nd\ne\nf\n', 'b | c | d | e | f'],
      ['\x1b[31merror\x1b[0m: bad\r\n\tat x\x07\n', 'error: bad | at x'],
    ];
    for (const [raw, want] of cases) assert.equal(lastOutputOf(raw), want, JSON.stringify(raw));
  });

  it('keeps at most the last 1 KB, cut on a character boundary', () => {
    const out = lastOutputOf('é'.repeat(2000) + 'THE END', 5, 1024);
    assert.ok(Buffer.byteLength(out) <= 1024, `${Buffer.byteLength(out)} bytes`);
    assert.ok(out.startsWith('…') && out.endsWith('THE END'));
    assert.ok(!out.includes('\ufffd'), 'no character cut in two');
  });

  it('always names the exit code', () => {
    assert.equal(describeExit({ runtimeId: 'c', exitCode: 1, exitReason: 'exit code 1', output: '' }), 'exit code 1');
    assert.equal(describeExit({ runtimeId: 'c', exitCode: 137, exitReason: 'OOMKilled', output: '' }), 'OOMKilled (exit code 137)');
    assert.equal(describeExit({ runtimeId: 'c', exitCode: 2, output: '' }), 'exit code 2');
    assert.equal(describeExit({ runtimeId: 'c', exitReason: 'the process is gone', output: '' }), 'the process is gone');
    assert.equal(describeCrash(crash(1).last), 'exit code 1; last output: db password missing');
    assert.equal(describeCrash(crash(1, '').last), 'exit code 1; it printed nothing');
  });
});

describe('the crash-loop verdict on a start', () => {
  const records = (m: Record<string, CrashRecord>) => (id: string) => m[id];

  it('fails the start only once every live instance of the generation crashed 3 times in a row', () => {
    const two = [inst('a'), inst('b')];
    assert.equal(crashLoopFailure(two, 2, records({ a: crash(3) })), undefined, 'b has not crashed');
    assert.equal(crashLoopFailure(two, 2, records({ a: crash(3), b: crash(2) })), undefined, 'b may still come up');
    const failed = crashLoopFailure(two, 2, records({ a: crash(3), b: crash(4) }));
    assert.equal(failed, 'instances keep crashing: each of the 2 instances exited 3 times in a row without becoming healthy, the last time with exit code 1; last output: db password missing');
    assert.match(crashLoopFailure([inst('a')], 2, records({ a: crash(3) }))!, /^instances keep crashing: the instance exited 3 times/);
    // Instances being removed and those of another generation do not count, nor does a node with none.
    assert.ok(crashLoopFailure([inst('a'), inst('b', 2, 'deleting'), inst('c', 1, 'healthy')], 2, records({ a: crash(3) })));
    assert.equal(crashLoopFailure([], 2, records({})), undefined);
  });

  it('says how many instances crash, quoting the one that crashed most', () => {
    assert.equal(crashingMessage([inst('a'), inst('b')], 2, records({})), undefined);
    assert.equal(
      crashingMessage([inst('a'), inst('b')], 2, records({ a: crash(1, 'x'), b: crash(2, 'y') })),
      '2 of 2 instances exited without becoming healthy (twice in a row at most), last with exit code 1; last output: y',
    );
  });
});

describe('step groups', () => {
  it('runs consecutive starts at once and removals one by one, in order', () => {
    const steps: Step[] = [
      { kind: 'remove', instanceId: 'x', reason: '' },
      { kind: 'restart', instanceId: 'a', reason: '' },
      { kind: 'restart', instanceId: 'b', reason: '' },
      { kind: 'create', generation: 2 },
      { kind: 'remove', instanceId: 'y', reason: '' },
      { kind: 'remove', instanceId: 'z', reason: '' },
    ];
    assert.deepEqual(
      stepGroups(steps).map((g) => g.map((s) => (s.kind === 'create' ? 'create' : `${s.kind}:${s.instanceId}`))),
      [['remove:x'], ['restart:a', 'restart:b', 'create'], ['remove:y'], ['remove:z']],
    );
  });
});
