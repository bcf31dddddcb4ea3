import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkpointImageOf, majorMinor, restoreMismatch, type EnvironmentFacts } from '../../src/domain/environment';

const cp = {
  id: 'ck1',
  pythonVersion: '3.11.2',
  moduleVersions: { 'scikit-learn': '1.2.1', numpy: '1.24.2', mystery: '' },
  environmentImage: 'berth-python:latest',
  environmentImageId: 'sha256:abc',
};
const env = (pythonVersion: string, modules: Record<string, string | null>, problem?: string): EnvironmentFacts => ({
  label: 'image foo:1 (sha256:def)',
  pythonVersion,
  modules,
  ...(problem ? { problem } : {}),
});
const CAPTURED = 'checkpoint ck1 was captured in berth-python:latest (sha256:abc) with Python 3.11, mystery, numpy 1.24, scikit-learn 1.2';

describe('restoreMismatch', () => {
  const cases: Array<[string, EnvironmentFacts, string | undefined]> = [
    ['the same major.minor everywhere (patch releases differ)', env('3.11.7', { 'scikit-learn': '1.2.2', numpy: '1.24.4', mystery: '0.1' }), undefined],
    ['a package without a version only has to be there', env('3.11.2', { 'scikit-learn': '1.2.1', numpy: '1.24.2', mystery: '' }), undefined],
    ['another Python minor', env('3.12.1', { 'scikit-learn': '1.2.1', numpy: '1.24.2', mystery: '' }), `${CAPTURED}; environment image foo:1 (sha256:def) has Python 3.12`],
    [
      'another Python and a package missing',
      env('3.12.1', { 'scikit-learn': null, numpy: '1.24.2', mystery: '' }),
      `${CAPTURED}; environment image foo:1 (sha256:def) has Python 3.12 and no scikit-learn`,
    ],
    [
      'another minor of a package',
      env('3.11.2', { 'scikit-learn': '1.3.0', numpy: '1.24.2', mystery: '1' }),
      `${CAPTURED}; environment image foo:1 (sha256:def) has scikit-learn 1.3`,
    ],
    ['no python at all', env('', {}, 'has no python3'), `${CAPTURED}; environment image foo:1 (sha256:def) has no python3`],
  ];
  for (const [name, facts, want] of cases) it(name, () => assert.equal(restoreMismatch(cp, facts), want));

  it("names Berth's --python for a checkpoint captured without an image", () => {
    const m = restoreMismatch({ ...cp, environmentImage: '', environmentImageId: '', moduleVersions: {} }, { ...env('3.10.4', {}), label: '--python python3' });
    assert.equal(m, "checkpoint ck1 was captured in Berth's --python with Python 3.11; environment --python python3 has Python 3.10");
  });
});

describe('majorMinor and checkpointImageOf', () => {
  it('cuts versions to major.minor', () => {
    assert.equal(majorMinor('3.11.2'), '3.11');
    assert.equal(majorMinor('1.2.1.post1'), '1.2');
    assert.equal(majorMinor('2'), '2');
  });
  it("takes the node's image, else the checkpoint's, else the system image", () => {
    assert.equal(checkpointImageOf('own:1', { environmentImage: 'cp:1' }, 'sys'), 'own:1');
    assert.equal(checkpointImageOf('', { environmentImage: 'cp:1' }, 'sys'), 'cp:1');
    assert.equal(checkpointImageOf('', { environmentImage: '' }, 'sys'), 'sys');
  });
});
