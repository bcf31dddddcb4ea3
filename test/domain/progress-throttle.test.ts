import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressThrottle } from '../../src/domain/progress-throttle';

describe('ProgressThrottle', () => {
  it('writes the first line at once, then at most one per interval, and clears only what was written', () => {
    const steps: [string, string, number, boolean][] = [
      ['nothing to clear yet', '', 0, false],
      ['first line', 'a', 0, true],
      ['same line later', 'a', 5000, false],
      ['a new line too soon', 'b', 1000, false],
      ['a new line after the interval', 'c', 2000, true],
      ['too soon after that', 'd', 3999, false],
      ['clearing is never throttled', '', 4000, true],
      ['cleared twice', '', 4001, false],
      ['a line after clearing', 'e', 4002, true],
    ];
    const throttle = new ProgressThrottle(2000);
    for (const [what, line, now, expected] of steps) assert.equal(throttle.take('op1', line, now), expected, what);
    assert.equal(throttle.take('op2', 'x', 4003), true, 'keys are apart');
    throttle.forget('op2');
    assert.equal(throttle.take('op2', '', 4004), false, 'a forgotten key has nothing to clear');
  });
});
