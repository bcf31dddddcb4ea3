import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickTarget, validateAlias, MAX_ALIAS_TARGETS, type AliasInput, type AliasTarget } from '../../src/domain/alias';
import { ValidationError } from '../../src/domain/errors';

const alias = (targets: AliasTarget[], extra: Partial<AliasInput> = {}): AliasInput => ({
  folderId: 'default',
  name: 'prod',
  description: '',
  targets,
  metadata: {},
  access: 'private',
  ...extra,
});

function refused(input: AliasInput): string[] {
  try {
    validateAlias(input);
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.violations.map((v) => v.field);
  }
}

describe('validateAlias', () => {
  const cases: Array<[what: string, input: AliasInput, fields: string[]]> = [
    ['one target at 100', alias([{ nodeId: 'nda', weight: 100 }]), []],
    ['a 90/10 canary', alias([{ nodeId: 'nda', weight: 90 }, { nodeId: 'ndb', weight: 10 }]), []],
    ['a drained target at 0', alias([{ nodeId: 'nda', weight: 0 }, { nodeId: 'ndb', weight: 100 }]), []],
    ['no targets', alias([]), ['alias.targets']],
    ['weights summing to 90', alias([{ nodeId: 'nda', weight: 50 }, { nodeId: 'ndb', weight: 40 }]), ['alias.targets']],
    ['weights summing to 110', alias([{ nodeId: 'nda', weight: 60 }, { nodeId: 'ndb', weight: 50 }]), ['alias.targets']],
    ['the same node twice', alias([{ nodeId: 'nda', weight: 50 }, { nodeId: 'nda', weight: 50 }]), ['alias.targets[1].node_id']],
    ['a negative weight', alias([{ nodeId: 'nda', weight: 110 }, { nodeId: 'ndb', weight: -10 }]), ['alias.targets[0].weight', 'alias.targets[1].weight']],
    ['a fractional weight', alias([{ nodeId: 'nda', weight: 50.5 }, { nodeId: 'ndb', weight: 49.5 }]), ['alias.targets[0].weight', 'alias.targets[1].weight']],
    ['an empty node id', alias([{ nodeId: '', weight: 100 }]), ['alias.targets[0].node_id']],
    ['name Team_A', alias([{ nodeId: 'nda', weight: 100 }], { name: 'Team_A' }), ['alias.name']],
    ['name -x', alias([{ nodeId: 'nda', weight: 100 }], { name: '-x' }), ['alias.name']],
    ['a name of 64 characters', alias([{ nodeId: 'nda', weight: 100 }], { name: 'a'.repeat(64) }), ['alias.name']],
    ['no folder', alias([{ nodeId: 'nda', weight: 100 }], { folderId: '' }), ['alias.folder_id']],
    ['an empty metadata key', alias([{ nodeId: 'nda', weight: 100 }], { metadata: { '': 'x' } }), ['alias.metadata.']],
    ['a metadata value over 1024', alias([{ nodeId: 'nda', weight: 100 }], { metadata: { owner: 'x'.repeat(1025) } }), ['alias.metadata.owner']],
  ];
  for (const [what, input, fields] of cases) {
    it(`${what} → ${fields.length ? fields.join(', ') : 'valid'}`, () => assert.deepEqual(refused(input), fields));
  }

  it(`allows ${MAX_ALIAS_TARGETS} targets and refuses ${MAX_ALIAS_TARGETS + 1}`, () => {
    const targets = (n: number) => Array.from({ length: n }, (_, i) => ({ nodeId: `nd${i}`, weight: i === 0 ? 100 : 0 }));
    assert.deepEqual(refused(alias(targets(MAX_ALIAS_TARGETS))), []);
    assert.deepEqual(refused(alias(targets(MAX_ALIAS_TARGETS + 1))), ['alias.targets']);
  });

  it('says what the weights sum to', () => {
    assert.throws(() => validateAlias(alias([{ nodeId: 'nda', weight: 70 }])), /alias\.targets: weights sum to 70; they must sum to 100/);
  });
});

/** How often each target is picked over r = i / 100 for i in 0..99. */
function split(targets: AliasTarget[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(targets.map((t) => [t.nodeId, 0]));
  for (let i = 0; i < 100; i++) {
    const picked = pickTarget(targets, i / 100);
    assert.ok(picked, `nothing picked for r = ${i / 100}`);
    counts[picked.nodeId]!++;
  }
  return counts;
}

describe('pickTarget', () => {
  it('splits 80/20 exactly over r = i/100', () => {
    assert.deepEqual(split([{ nodeId: 'a', weight: 80 }, { nodeId: 'b', weight: 20 }]), { a: 80, b: 20 });
  });

  it('gives each target exactly its weight for every two-way split', () => {
    for (let w = 0; w <= 100; w++) {
      const counts = split([{ nodeId: 'a', weight: w }, { nodeId: 'b', weight: 100 - w }]);
      assert.deepEqual(counts, { a: w, b: 100 - w }, `split ${w}/${100 - w}`);
    }
  });

  // Regression: r * 100 rounds below the boundary for r = 0.29, 0.57 and 0.58,
  // which gave a 29/71 split 30/70.
  it('does not move a boundary through rounding (29/71, 57/43, 58/42)', () => {
    assert.deepEqual(split([{ nodeId: 'a', weight: 29 }, { nodeId: 'b', weight: 71 }]), { a: 29, b: 71 });
    assert.deepEqual(split([{ nodeId: 'a', weight: 57 }, { nodeId: 'b', weight: 43 }]), { a: 57, b: 43 });
    assert.deepEqual(split([{ nodeId: 'a', weight: 58 }, { nodeId: 'b', weight: 42 }]), { a: 58, b: 42 });
  });

  it('gives each of several targets exactly its weight', () => {
    const targets = [
      { nodeId: 'a', weight: 7 },
      { nodeId: 'b', weight: 22 },
      { nodeId: 'c', weight: 0 },
      { nodeId: 'd', weight: 28 },
      { nodeId: 'e', weight: 43 },
    ];
    assert.deepEqual(split(targets), { a: 7, b: 22, c: 0, d: 28, e: 43 });
  });

  it('never picks a weight-0 target, wherever it is and whatever r is', () => {
    const layouts: AliasTarget[][] = [
      [{ nodeId: 'zero', weight: 0 }, { nodeId: 'x', weight: 100 }],
      [{ nodeId: 'x', weight: 100 }, { nodeId: 'zero', weight: 0 }],
      [{ nodeId: 'x', weight: 50 }, { nodeId: 'zero', weight: 0 }, { nodeId: 'y', weight: 50 }],
    ];
    const rs = [0, Number.MIN_VALUE, 0.4999999999999999, 0.5, 0.9999999999999999, 1 - Number.EPSILON];
    for (const targets of layouts) {
      for (let i = 0; i < 1000; i++) assert.notEqual(pickTarget(targets, i / 1000)?.nodeId, 'zero', `r = ${i / 1000}`);
      for (const r of rs) assert.notEqual(pickTarget(targets, r)?.nodeId, 'zero', `r = ${r}`);
    }
  });

  it('picks the first target at r = 0 and the last weighted one just below 1', () => {
    const targets = [{ nodeId: 'a', weight: 30 }, { nodeId: 'b', weight: 70 }, { nodeId: 'c', weight: 0 }];
    assert.equal(pickTarget(targets, 0)?.nodeId, 'a');
    assert.equal(pickTarget(targets, 0.9999999999999999)?.nodeId, 'b');
  });

  it('picks nothing when there is no target or every weight is 0', () => {
    assert.equal(pickTarget([], 0.5), undefined);
    assert.equal(pickTarget([{ nodeId: 'a', weight: 0 }], 0.5), undefined);
  });
});
