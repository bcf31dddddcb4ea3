/**
 * The limits on caller-controlled fields, as pure table tests: text checks,
 * the size limits of a node's spec and a checkpoint's sources, typed filter
 * values and page tokens that could carry anything into a query.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateCellSources } from '../../src/domain/checkpoint';
import { ValidationError } from '../../src/domain/errors';
import { LIMITS } from '../../src/domain/limits';
import { decodePageToken, encodePageToken, parseFilter } from '../../src/domain/listing';
import { validateNode, withDefaults, type NodeInput } from '../../src/domain/node';
import { textProblem } from '../../src/domain/validation';

function fieldsOf(run: () => void): string[] {
  try {
    run();
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.violations.map((v) => v.field);
  }
}

function dockerNode(docker: Record<string, unknown> = {}, configuration: Record<string, number> = {}): NodeInput {
  const spec = withDefaults({
    source: {
      kind: 'docker',
      image: 'web:1',
      registrySecretId: '',
      endpoint: { type: 'http', port: 8080, timeoutMs: 0, idleTimeoutMs: 0 },
      env: {},
      envFromSecrets: [],
      command: [],
      args: [],
      telemetry: null,
      healthCheck: { type: 'http', port: 0, path: '', grpcService: '', timeoutMs: 0, intervalMs: 0, failsThreshold: 0, passesThreshold: 0 },
      security: { user: '', capAdd: [], capDrop: [], readOnlyRootFilesystem: false, tmpfs: [] },
      ...docker,
    } as never,
    configuration: { name: '', cpu: 0, memoryBytes: 0, gpu: 0, ...configuration },
    instanceRange: { min: 0, max: 0 },
    autoscaling: { targetInFlight: 0, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 0 },
    maintenanceLimit: 0,
    acl: { folderIds: [] },
  });
  return { folderId: 'fl1', name: 'web', description: '', labels: {}, spec };
}

describe('textProblem', () => {
  const cases: Array<[text: string, problem: RegExp | undefined]> = [
    ['plain', undefined],
    ['emoji 😀 and accents é', undefined],
    ['\ufffd is a character', undefined],
    ['a\u0000b', /NUL character \(at 1\)/],
    ['\u0000', /NUL/],
    ['lone \ud800 high', /not valid UTF-8/],
    ['lone \udc00 low', /not valid UTF-8/],
    ['reversed \udc00\ud800', /not valid UTF-8/],
  ];
  for (const [text, problem] of cases) {
    it(`${JSON.stringify(text)} → ${problem ?? 'fine'}`, () => {
      const got = textProblem(text);
      if (problem) assert.match(got ?? '', problem);
      else assert.equal(got, undefined);
    });
  }
});

describe('node spec limits', () => {
  const d = 'node.spec.docker';
  const cases: Array<[label: string, input: NodeInput, fields: string[]]> = [
    ['a valid node', dockerNode(), []],
    ['an env value at its limit', dockerNode({ env: { A: 'x'.repeat(LIMITS.envValueBytes) } }), []],
    ['an env value one byte over', dockerNode({ env: { A: 'x'.repeat(LIMITS.envValueBytes + 1) } }), [`${d}.env.A`]],
    ['an env value over in UTF-8 bytes only', dockerNode({ env: { A: 'é'.repeat(LIMITS.envValueBytes / 2 + 1) } }), [`${d}.env.A`]],
    ['a 9 MB env value', dockerNode({ env: { BIG: 'x'.repeat(9 * 1024 * 1024) } }), [`${d}.env.BIG`, `${d}.env`]],
    ['too many env entries', dockerNode({ env: Object.fromEntries(Array.from({ length: LIMITS.envEntries + 1 }, (_, i) => [`V${i}`, ''])) }), [`${d}.env`]],
    ['too many args', dockerNode({ args: Array.from({ length: LIMITS.argvEntries + 1 }, () => 'a') }), [`${d}.args`]],
    ['a command entry over its size', dockerNode({ command: ['c'.repeat(LIMITS.argvEntryBytes + 1)] }), [`${d}.command[0]`]],
    ['an image over its length', dockerNode({ image: `i${'m'.repeat(LIMITS.imageRefChars)}` }), [`${d}.image`]],
    ['memory at 1 TiB', dockerNode({}, { memoryBytes: LIMITS.memoryBytesMax }), []],
    ['memory over 1 TiB', dockerNode({}, { memoryBytes: LIMITS.memoryBytesMax + 1 }), ['node.spec.configuration.memory_bytes']],
    ['memory above 2^53', dockerNode({}, { memoryBytes: 2 ** 60 }), ['node.spec.configuration.memory_bytes']],
    ['memory of a fraction', dockerNode({}, { memoryBytes: 2 ** 30 + 0.5 }), ['node.spec.configuration.memory_bytes']],
  ];
  for (const [label, input, fields] of cases) {
    it(`${label} → ${fields.join(', ') || 'valid'}`, () => assert.deepEqual(fieldsOf(() => validateNode(input)), fields));
  }
});

describe('checkpoint source limits', () => {
  it('takes cells up to the limits and names the one over', () => {
    assert.deepEqual(fieldsOf(() => validateCellSources(['x = 1', 'c'.repeat(LIMITS.cellSourceBytes)])), []);
    assert.deepEqual(fieldsOf(() => validateCellSources(['x = 1', 'c'.repeat(LIMITS.cellSourceBytes + 1)])), ['cells.cells[1]']);
    assert.deepEqual(fieldsOf(() => validateCellSources(Array.from({ length: LIMITS.cells + 1 }, () => ''))), ['cells.cells']);
  });
});

describe('typed filter values', () => {
  const cases: Array<[filter: string, ok: boolean]> = [
    ['done = true', true],
    ['done = false AND resource_id = "nd1"', true],
    ['done = maybe', false],
    ['done = "TRUE"', false],
    ['done:"t"', false],
    ['kind = docker', true],
    ['kind:"dock"', true],
    ['kind = vm', false],
    [`name = "${'n'.repeat(LIMITS.filterChars)}"`, false],
  ];
  for (const [filter, ok] of cases) {
    it(`${filter.slice(0, 40)} → ${ok ? 'parsed' : 'refused'}`, () => {
      const fields = fieldsOf(() => parseFilter(filter, ['done', 'resource_id', 'kind', 'name']));
      assert.deepEqual(fields, ok ? [] : ['filter']);
    });
  }
});

describe('page tokens', () => {
  const query = 'nodes|fl1|';
  const forged = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
  it('round-trips a token Berth made', () => assert.equal(decodePageToken(encodePageToken('nd1abc', query), query), 'nd1abc'));
  const bad: Array<[label: string, token: string]> = [
    ['punctuation', '!!!'],
    ['over its length', 'A'.repeat(LIMITS.pageTokenChars + 1)],
    ['a cursor with a NUL', forged({ after: '\u0000', query })],
    ['a cursor with SQL', forged({ after: "' or 1=1 --", query })],
    ['a cursor that is not a string', forged({ after: 5, query })],
    ['another query', encodePageToken('nd1abc', 'nodes|fl2|')],
  ];
  for (const [label, token] of bad) {
    it(`refuses ${label}, naming page_token`, () => assert.deepEqual(fieldsOf(() => decodePageToken(token, query)), ['page_token']));
  }
});
