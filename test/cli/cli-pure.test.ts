/** The CLI's pure pieces: typed call inputs, the manifest diff, manifests, contexts' address handling. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VariableType } from '../../gen/berth/v1/node';
import { subsetDiff, formatChange } from '../../src/cli/apply/diff';
import { parseManifests } from '../../src/cli/apply/manifest';
import { typedInput } from '../../src/cli/commands/call';
import { durationMs } from '../../src/cli/commands/logs';
import { variableTypeName } from '../../src/cli/commands/nodes';
import { defaultNodeApi, hostOf, isLoopbackAddress } from '../../src/cli/contexts';

const v = (type: VariableType) => ({ name: 'v', type });

describe('typed call inputs', () => {
  it('converts each value to its declared type and refuses what does not fit', () => {
    assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_INT), 'v', '42'), 42);
    assert.throws(() => typedInput(v(VariableType.VARIABLE_TYPE_INT), 'v', '4.2'), /v is an int/);
    assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_FLOAT), 'v', '3'), 3);
    assert.throws(() => typedInput(v(VariableType.VARIABLE_TYPE_FLOAT), 'v', ''), /v is a float/);
    assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_BOOL), 'v', 'false'), false);
    assert.throws(() => typedInput(v(VariableType.VARIABLE_TYPE_BOOL), 'v', 'yes'), /true or false/);
    assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_STR), 'v', '007'), '007');
    assert.deepEqual(typedInput(v(VariableType.VARIABLE_TYPE_LIST_INT), 'v', '[1, 2]'), [1, 2]);
    assert.deepEqual(typedInput(v(VariableType.VARIABLE_TYPE_DICT), 'v', '{"a": 1}'), { a: 1 });
    assert.throws(() => typedInput(v(VariableType.VARIABLE_TYPE_LIST), 'v', '[1,'), /give it as JSON/);
  });

  it('reads @file values: text for str, base64 for bytes', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-input-'));
    try {
      const file = path.join(dir, 'name.txt');
      writeFileSync(file, 'Ada');
      assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_STR), 'v', `@${file}`), 'Ada');
      assert.equal(typedInput(v(VariableType.VARIABLE_TYPE_BYTES), 'v', `@${file}`), Buffer.from('Ada').toString('base64'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names variable types the short way', () => {
    assert.equal(variableTypeName('float'), 'VARIABLE_TYPE_FLOAT');
    assert.equal(variableTypeName('list[int]'), 'VARIABLE_TYPE_LIST_INT');
    assert.equal(variableTypeName('VARIABLE_TYPE_STR'), 'VARIABLE_TYPE_STR');
  });
});

describe('the manifest diff', () => {
  const whole = new Set(['spec.docker.env']);
  it('compares only what the manifest sets, maps and lists whole', () => {
    const actual = { spec: { docker: { image: 'a:1', env: { A: '1', B: '2' }, healthCheck: { path: '/' } }, instanceRange: { min: 1, max: 2 } } };
    assert.deepEqual(subsetDiff({ spec: { docker: { image: 'a:1' } } }, actual, '', whole), []);
    assert.deepEqual(subsetDiff({ spec: { instanceRange: { max: 3 } } }, actual, '', whole), [{ path: 'spec.instanceRange.max', from: 2, to: 3 }]);
    assert.deepEqual(subsetDiff({ spec: { docker: { env: { A: '1' } } } }, actual, '', whole), [
      { path: 'spec.docker.env', from: { A: '1', B: '2' }, to: { A: '1' } },
    ]);
    assert.deepEqual(subsetDiff({ spec: { checkpoint: { checkpointId: 'c' } } }, actual, '', whole), [
      { path: 'spec.checkpoint', from: undefined, to: { checkpointId: 'c' } },
    ]);
  });

  it('prints a change as an addition or a replacement', () => {
    assert.equal(formatChange({ path: 'spec.instanceRange.max', from: 1, to: 2 }), '~ spec.instanceRange.max: 1 → 2');
    assert.equal(formatChange({ path: 'spec.docker.image', to: 'web:1' }), '+ spec.docker.image: "web:1"');
  });
});

describe('manifests', () => {
  it('reads several documents and lists, resolving notebook paths against the file', () => {
    const docs = parseManifests('kind: Checkpoint\nname: p\nnotebook: nb/p.ipynb\n---\n- kind: Alias\n  name: prod\n  targets: [{node: a}]\n', 'm.yaml', '/work/x');
    assert.deepEqual(docs.map((d) => `${d.kind}/${d.name}`), ['Checkpoint/p', 'Alias/prod']);
    assert.equal((docs[0] as any).notebook, '/work/x/nb/p.ipynb');
  });

  it('refuses unknown kinds and fields with where they are', () => {
    assert.throws(() => parseManifests('kind: Node\nname: a\nspce: {}\n', 'm.yaml', '/'), /m\.yaml#1 \(Node a\): unknown field "spce"/);
    assert.throws(() => parseManifests('name: a\n', 'm.yaml', '/'), /kind must be one of/);
    assert.throws(() => parseManifests('kind: Alias\nname: a\ntargets: [b]\n', 'm.yaml', '/'), /targets: a list of \{node: NAME, weight: N\}/);
  });
});

describe('logs --since', () => {
  it('reads durations and refuses anything else', () => {
    assert.equal(durationMs('90s'), 90_000);
    assert.equal(durationMs('5m'), 300_000);
    assert.equal(durationMs('1.5h'), 5_400_000);
    assert.equal(durationMs('1d'), 86_400_000);
    assert.throws(() => durationMs('5 minutes'), /--since takes a duration/);
  });
});

describe('addresses', () => {
  it('knows loopback and the node API beside a server', () => {
    assert.ok(isLoopbackAddress('127.0.0.1:50051'));
    assert.ok(isLoopbackAddress('localhost:50051'));
    assert.ok(isLoopbackAddress('[::1]:50051'));
    assert.ok(!isLoopbackAddress('berth.example:50051'));
    assert.equal(hostOf('[::1]:50051'), '::1');
    assert.equal(defaultNodeApi('berth.example:443'), 'berth.example:8081');
    assert.equal(defaultNodeApi('[::1]:50051'), '[::1]:8081');
  });
});
