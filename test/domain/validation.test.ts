import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError, type FieldViolation } from '../../src/domain/errors';
import { Violations, checkDescription, checkId, checkLabels, checkName, checkPort, checkRange } from '../../src/domain/validation';

/** The violations that `check` adds, in order. */
function violationsOf(check: (v: Violations) => void): FieldViolation[] {
  const v = new Violations();
  check(v);
  try {
    v.throwIfAny();
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.violations;
  }
}

describe('checkName: lowercase DNS labels', () => {
  const cases: Array<[name: string, valid: boolean]> = [
    ['a', true],
    ['team-a', true],
    ['a1', true],
    ['a-1-b', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['', false],
    ['Team_A', false],
    ['team_a', false],
    ['TEAM', false],
    ['-x', false],
    ['x-', false],
    ['1abc', false],
    ['a.b', false],
    ['a b', false],
    [' a', false],
    ['é', false],
  ];
  for (const [name, valid] of cases) {
    it(`${JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name)} is ${valid ? 'valid' : 'refused'}`, () => {
      const found = violationsOf((v) => checkName(v, 'folder.name', name));
      if (valid) assert.deepEqual(found, []);
      else {
        assert.equal(found.length, 1);
        assert.equal(found[0]!.field, 'folder.name');
        assert.match(found[0]!.description, name === '' ? /is required/ : /not a lowercase DNS label/);
      }
    });
  }
});

describe('checkLabels', () => {
  const cases: Array<[labels: Record<string, string>, fields: string[]]> = [
    [{}, []],
    [{ env: 'prod', 'app.kubernetes.io_name': 'web-1', team: '' }, []],
    [{ ['k'.repeat(63)]: 'v'.repeat(63) }, []],
    [{ ['k'.repeat(64)]: 'v' }, [`labels.${'k'.repeat(64)}`]],
    [{ k: 'v'.repeat(64) }, ['labels.k']],
    [{ Env: 'x' }, ['labels.Env']],
    [{ '1env': 'x' }, ['labels.1env']],
    [{ env: 'has space' }, ['labels.env']],
    [{ env: 'a/b' }, ['labels.env']],
    [{ ok: 'Mixed.Case_1-2', Bad: 'x', also_bad: 'x y' }, ['labels.Bad', 'labels.also_bad']],
  ];
  for (const [labels, fields] of cases) {
    it(`${JSON.stringify(labels).slice(0, 60)} → ${fields.length === 0 ? 'valid' : fields.join(', ')}`, () => {
      assert.deepEqual(
        violationsOf((v) => checkLabels(v, 'labels', labels)).map((x) => x.field),
        fields,
      );
    });
  }

  it('allows 64 entries and refuses 65, naming the map', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    assert.deepEqual(violationsOf((v) => checkLabels(v, 'folder.labels', many(64))), []);
    const found = violationsOf((v) => checkLabels(v, 'folder.labels', many(65)));
    assert.deepEqual(found.map((x) => x.field), ['folder.labels']);
    assert.match(found[0]!.description, /65 entries; at most 64/);
  });
});

describe('checkRange and checkPort', () => {
  const ranges: Array<[value: number, min: number, max: number, valid: boolean]> = [
    [0, 0, 64, true],
    [64, 0, 64, true],
    [-1, 0, 64, false],
    [65, 0, 64, false],
    [1.5, 0, 64, false],
    [Number.NaN, 0, 64, false],
    [Number.POSITIVE_INFINITY, 0, 64, false],
  ];
  for (const [value, min, max, valid] of ranges) {
    it(`${value} in [${min}, ${max}] is ${valid ? 'valid' : 'refused'}`, () => {
      const found = violationsOf((v) => checkRange(v, 'spec.instance_range.max', value, min, max));
      assert.deepEqual(found.map((x) => x.field), valid ? [] : ['spec.instance_range.max']);
      if (!valid) assert.match(found[0]!.description, new RegExp(`must be an integer from ${min} to ${max}`));
    });
  }

  const ports: Array<[port: number, valid: boolean]> = [
    [1, true],
    [80, true],
    [65535, true],
    [0, false],
    [-1, false],
    [65536, false],
    [70000, false],
    [80.5, false],
  ];
  for (const [port, valid] of ports) {
    it(`port ${port} is ${valid ? 'valid' : 'refused'}`, () => {
      const found = violationsOf((v) => checkPort(v, 'endpoint.port', port));
      assert.deepEqual(found.map((x) => x.field), valid ? [] : ['endpoint.port']);
      if (!valid) assert.match(found[0]!.description, new RegExp(`is ${port}; must be an integer from 1 to 65535`));
    });
  }
});

describe('checkId and checkDescription', () => {
  const ids: Array<[id: string, problem: RegExp | null]> = [
    ['default', null],
    ['nd1m88x7hf99tk3wr1d7r', null],
    ['a-b-0', null],
    ['x'.repeat(64), null],
    ['', /is required/],
    ['x'.repeat(65), /not a valid id/],
    ['ND1', /not a valid id/],
    ['nd_1', /not a valid id/],
    ['../etc', /not a valid id/],
  ];
  for (const [id, problem] of ids) {
    it(`id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)} is ${problem ? 'refused' : 'valid'}`, () => {
      const found = violationsOf((v) => checkId(v, 'node.folder_id', id));
      if (!problem) assert.deepEqual(found, []);
      else {
        assert.deepEqual(found.map((x) => x.field), ['node.folder_id']);
        assert.match(found[0]!.description, problem);
      }
    });
  }

  it('allows descriptions of up to 256 characters', () => {
    assert.deepEqual(violationsOf((v) => checkDescription(v, 'folder.description', 'd'.repeat(256))), []);
    const found = violationsOf((v) => checkDescription(v, 'folder.description', 'd'.repeat(257)));
    assert.deepEqual(found.map((x) => x.field), ['folder.description']);
    assert.match(found[0]!.description, /257 characters long; at most 256/);
  });
});

describe('Violations', () => {
  it('collects every violation before failing, and names each field in the message', () => {
    const v = new Violations();
    checkName(v, 'folder.name', 'Bad_Name');
    checkDescription(v, 'folder.description', 'd'.repeat(300));
    assert.equal(v.size, 2);
    assert.throws(
      () => v.throwIfAny(),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(err.violations.map((x) => x.field), ['folder.name', 'folder.description']);
        assert.match(err.message, /^invalid request: folder\.name: .*; folder\.description: /);
        return true;
      },
    );
  });

  it('does not throw when empty; a single violation makes a "field: description" message', () => {
    new Violations().throwIfAny();
    assert.equal(ValidationError.of('node.name', 'is required').message, 'node.name: is required');
  });
});
