import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightBalancer } from '../../src/gateway/balancer';

/** A random source that returns `values` in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i % values.length];
    i++;
    return v ?? 0;
  };
}

const abc = [{ instanceId: 'a' }, { instanceId: 'b' }, { instanceId: 'c' }];

describe('InFlightBalancer.pick', () => {
  const cases: {
    name: string;
    backends: { instanceId: string }[];
    inFlight: Record<string, number>;
    exclude?: string[];
    random: number[];
    want: string | undefined;
  }[] = [
    { name: 'no backends', backends: [], inFlight: {}, random: [0], want: undefined },
    { name: 'one backend, whatever its load', backends: [{ instanceId: 'a' }], inFlight: { a: 9 }, random: [0.9], want: 'a' },
    { name: 'two idle: the first draw wins the tie', backends: abc.slice(0, 2), inFlight: {}, random: [0.7, 0], want: 'b' },
    { name: 'the less loaded of the two drawn', backends: abc, inFlight: { a: 3, b: 1 }, random: [0, 0.4], want: 'b' },
    { name: 'second draw skips the first index', backends: abc, inFlight: { a: 2, c: 1 }, random: [0, 0.99], want: 'c' },
    { name: 'an undrawn idle backend is not chosen', backends: abc, inFlight: { a: 2, b: 2 }, random: [0, 0], want: 'a' },
    { name: 'excluded backends are never drawn', backends: abc, inFlight: { c: 5 }, exclude: ['a', 'b'], random: [0, 0], want: 'c' },
    { name: 'all excluded', backends: abc, inFlight: {}, exclude: ['a', 'b', 'c'], random: [0], want: undefined },
    { name: 'random() returning 1 wraps into range', backends: abc, inFlight: { a: 1 }, random: [1, 1], want: 'b' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const balancer = new InFlightBalancer();
      for (const [id, n] of Object.entries(c.inFlight)) for (let i = 0; i < n; i++) balancer.begin(id);
      const got = balancer.pick(c.backends, c.exclude && new Set(c.exclude), sequence(...c.random));
      assert.equal(got?.instanceId, c.want);
    });
  }
});

describe('InFlightBalancer counters', () => {
  it('counts begin/end and forgets idle instances', () => {
    const balancer = new InFlightBalancer();
    balancer.begin('a');
    balancer.begin('a');
    balancer.end('a');
    assert.equal(balancer.inFlightOf('a'), 1);
    balancer.end('a');
    balancer.end('a');
    assert.equal(balancer.inFlightOf('a'), 0);
  });

  it('spreads load: with real randomness no instance gets far more than its share', () => {
    const balancer = new InFlightBalancer();
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const b = balancer.pick(abc);
      assert.ok(b);
      // Hold each call for a while so that in-flight counts matter.
      balancer.begin(b.instanceId);
      counts.set(b.instanceId, (counts.get(b.instanceId) ?? 0) + 1);
      if (i % 3 === 2) for (const x of abc) balancer.end(x.instanceId);
    }
    for (const x of abc) assert.ok((counts.get(x.instanceId) ?? 0) > 800, `${x.instanceId}: ${counts.get(x.instanceId)}`);
  });
});
