import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fingerprintOf } from '../../src/supervisor/resync-fingerprint';

const rows = [
  { id: 'in-a', state: 'healthy' as const, runtimeId: 'c1', generation: 1 },
  { id: 'in-b', state: 'healthy' as const, runtimeId: 'c2', generation: 1 },
];
const observed = [
  { instanceId: 'in-a', runtimeId: 'c1', state: 'running' as const },
  { instanceId: 'in-b', runtimeId: 'c2', state: 'running' as const },
];
const base = fingerprintOf(3, rows, observed, []);

describe('fingerprintOf (what lets the full resync skip a settled node)', () => {
  it('does not depend on the order rows, instances and operations are listed in', () => {
    assert.equal(fingerprintOf(3, [...rows].reverse(), [...observed].reverse(), []), base);
    assert.equal(fingerprintOf(3, rows, observed, ['op2', 'op1']), fingerprintOf(3, rows, observed, ['op1', 'op2']));
  });

  const changes: Array<[string, string]> = [
    ['an API write (version)', fingerprintOf(4, rows, observed, [])],
    ['a row changed state', fingerprintOf(3, [{ ...rows[0]!, state: 'unhealthy' }, rows[1]!], observed, [])],
    ['a row names another container', fingerprintOf(3, [{ ...rows[0]!, runtimeId: 'c9' }, rows[1]!], observed, [])],
    ['a row is gone', fingerprintOf(3, [rows[0]!], observed, [])],
    ['an instance exited', fingerprintOf(3, rows, [observed[0]!, { ...observed[1]!, state: 'exited' }], [])],
    ['an instance is gone from the runtime', fingerprintOf(3, rows, [observed[0]!], [])],
    ['an unknown instance runs', fingerprintOf(3, rows, [...observed, { instanceId: 'in-x', runtimeId: 'c7', state: 'running' }], [])],
    ['an operation is pending', fingerprintOf(3, rows, observed, ['op1'])],
  ];
  for (const [what, fingerprint] of changes) it(`changes when ${what}`, () => assert.notEqual(fingerprint, base));
});
