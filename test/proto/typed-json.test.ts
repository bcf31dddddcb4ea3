import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailedPreconditionError, ValidationError } from '../../src/domain/errors';
import { parseJsonExact, quoteBigIntegers, stringifyJson } from '../../src/domain/exact-json';
import type { Variable } from '../../src/domain/node';
import { checkInputs, type WireValue } from '../../src/domain/variables';
import { TypedMessages, type TypedNode } from '../../src/api/typed-json';

const inputs: Variable[] = [
  { name: 'big_n', type: 'int' },
  { name: 'small_n', type: 'int' },
  { name: 'ratio', type: 'float' },
  { name: 'label', type: 'str' },
  { name: 'flag', type: 'bool' },
  { name: 'blob', type: 'bytes' },
  { name: 'ids', type: 'list[int]' },
  { name: 'meta', type: 'dict' },
];
const outputs: Variable[] = [
  { name: 'out_v', type: 'int' },
  { name: 'out_list', type: 'list[int]' },
  { name: 'score', type: 'float' },
  { name: 'label', type: 'str' },
];
const node: TypedNode = {
  id: 'nd1',
  name: 'exact',
  folderId: 'fl1',
  folderName: 'team-a',
  source: { kind: 'checkpoint', checkpointId: 'ck1', inputVariables: inputs, outputVariables: outputs, environmentImage: '' },
};

describe('exact JSON', () => {
  it('keeps integers beyond 2^53 as their decimal strings and leaves the rest alone', () => {
    assert.equal(quoteBigIntegers('{"a":1,"b":-2.5e300,"c":"9007199254740993"}'), '{"a":1,"b":-2.5e300,"c":"9007199254740993"}');
    assert.deepEqual(parseJsonExact('{"a": 9007199254740993, "b": [-9223372036854775808, 9007199254740991], "s": "x\\"123456789012345678901"}'), {
      a: '9007199254740993',
      b: ['-9223372036854775808', 9007199254740991],
      s: 'x"123456789012345678901',
    });
    assert.equal(parseJsonExact('123456789012345678901234567890'), '123456789012345678901234567890');
    assert.deepEqual(parseJsonExact('[1.0e20, 12345678901234567890.5]'), [1e20, 12345678901234567890.5]);
    assert.throws(() => parseJsonExact('{"a": 01}'), SyntaxError);
  });

  it('reads escapes around strings and fractions of many digits as JSON does', () => {
    // A string ending in an escaped backslash ends there; one with an escaped quote does not.
    assert.deepEqual(parseJsonExact('{"s": "a\\\\", "n": 12345678901234567890, "t": "\\"12345678901234567890"}'), {
      s: 'a\\',
      n: '12345678901234567890',
      t: '"12345678901234567890',
    });
    assert.deepEqual(parseJsonExact('[1.12345678901234567, 12345678901234567e3, -12345678901234567]'), [1.12345678901234567, 12345678901234567e3, '-12345678901234567']);
    // Long text without a 16-digit run is JSON.parse's.
    const long = 'x'.repeat(100_000);
    assert.deepEqual(parseJsonExact(JSON.stringify({ y: long, n: 123456789012345 })), { y: long, n: 123456789012345 });
  });
});

describe('JSON text of values with long strings', () => {
  it('is the text JSON.stringify writes, whatever the strings hold', () => {
    const long = 'x'.repeat(70_000);
    const odd = ['a"', 'b\\', 'c\n', '\u0001', 'é', '\u2028', '\ud83d\ude00', '\ud800', '\udfff'].map((c) => long + c + long);
    const values: unknown[] = [
      long,
      ...odd,
      { inputs: { x: long, n: 12, gone: undefined, list: [1, long, undefined, null, 'short'] }, outputs: [{ name: 'y', type: 'str' }] },
      { nested: { deeper: [[odd]] }, '"key"': long, 5: 'five' },
      { small: 'only short strings', n: [1, 2.5, -3], t: true },
    ];
    for (const value of values) assert.equal(stringifyJson(value), JSON.stringify(value));
  });
});

describe('the typed REST route in protobuf JSON', () => {
  const m = TypedMessages.of(node);

  it('takes lowerCamel or variable names, int64 as strings or numbers, and hands the worker exact values', () => {
    const body = parseJsonExact(
      '{"bigN": "9223372036854775807", "small_n": 3, "ratio": "NaN", "label": "hi", "flag": true, "blob": "AAE=", "ids": [9007199254740993, "-12"], "meta": {"k": [1, "v"]}}',
    );
    const forWorker = checkInputs(inputs, m.inputsOf(m.requestFromJson(body)));
    assert.deepEqual(forWorker, {
      big_n: '9223372036854775807',
      small_n: 3,
      ratio: 'NaN',
      label: 'hi',
      flag: true,
      blob: 'AAE=',
      ids: ['9007199254740993', -12],
      meta: { k: [1, 'v'] },
    });
    // What the worker receives: the big values as strings it reads as Python ints.
    assert.equal(JSON.stringify(forWorker.big_n), '"9223372036854775807"');
  });

  it('fills a field left out with its default, as protobuf does', () => {
    const forWorker = checkInputs(inputs, m.inputsOf(m.requestFromJson({ label: 'only' })));
    assert.equal(forWorker.big_n, 0);
    assert.deepEqual(forWorker.ids, []);
    assert.deepEqual(forWorker.meta, {});
  });

  it('answers lowerCamel names with int64 as strings, exact beyond 2^53', () => {
    const worker = parseJsonExact('{"outputs": {"out_v": 1234567890123456789, "out_list": [1, -9223372036854775808], "score": "Infinity", "label": "x"}}') as { outputs: Record<string, WireValue> };
    const answer = m.responseToJson(m.responseOf('nd1', worker.outputs));
    assert.deepEqual(answer, { outV: '1234567890123456789', outList: ['1', '-9223372036854775808'], score: 'Infinity', label: 'x' });
    // Round trip: the answer read back as the response message gives the same JSON.
    const again = m.responseToJson(m.responseOf('nd1', { out_v: '1234567890123456789', out_list: ['1', '-9223372036854775808'], score: 'Infinity', label: 'x' }));
    assert.deepEqual(again, answer);
  });

  it('refuses a body that is not the request message, naming the input that does not fit', () => {
    const cases: Array<[body: unknown, fields: string[]]> = [
      [{ nope: 1 }, ['input.nope']],
      [{ bigN: 'ten', flag: 'yes' }, ['input.big_n', 'input.flag']],
      [{ ids: [1, 'a'] }, ['input.ids']],
      [{ meta: 3 }, ['input.meta']],
      [{ bigN: 1, big_n: 2 }, ['body']],
      [[], ['body']],
      [null, ['body']],
    ];
    for (const [body, fields] of cases) {
      assert.throws(
        () => m.requestFromJson(body),
        (err: unknown) => err instanceof ValidationError && assert.deepEqual(err.violations.map((v) => v.field), fields) === undefined,
        JSON.stringify(body),
      );
    }
  });

  it('refuses ints outside int64 before the cell runs, and an output beyond int64 is the cell\'s fault', () => {
    assert.throws(
      () => checkInputs([{ name: 'n', type: 'int' }], { n: '9223372036854775808' }),
      (err: unknown) => err instanceof ValidationError && err.violations[0]!.field === 'input.n',
    );
    assert.throws(() => m.responseOf('nd1', { out_v: '9223372036854775808', out_list: [], score: 0, label: '' }), FailedPreconditionError);
  });
});
