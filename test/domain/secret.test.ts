/**
 * A secret's metadata and entries as table tests: every refusal names the
 * field (key, position) and none quotes a value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/domain/errors';
import { LIMITS } from '../../src/domain/limits';
import { validateSecret, validateSecretEntries, type SecretEntry } from '../../src/domain/secret';

const VALUE = 'Opaque-ZQXW';

function refusal(run: () => void): ValidationError | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err;
  }
}

describe('validateSecretEntries', () => {
  const e = (key: string, value = VALUE): SecretEntry => ({ key, value });
  const cases: Array<[what: string, entries: SecretEntry[], fields: string[]]> = [
    ['one entry', [e('token')], []],
    ['registry credentials', [e('username'), e('password'), e('server')], []],
    ['an empty value', [e('EMPTY', '')], []],
    ['a value of exactly 64 KiB', [e('BIG', 'v'.repeat(LIMITS.secretValueBytes))], []],
    ['no entry', [], ['entries']],
    ['an empty key', [e('')], ['entries[0].key']],
    ['a key with a dot', [e('api.token')], ['entries[0].key']],
    ['a key starting with a digit', [e('9lives')], ['entries[0].key']],
    ['a key over its length', [e('K'.repeat(LIMITS.secretKeyChars + 1))], ['entries[0].key']],
    ['a key given twice', [e('a'), e('b'), e('a')], ['entries[2].key']],
    ['a value one byte over', [e('BIG', VALUE + 'v'.repeat(LIMITS.secretValueBytes))], ['entries[0].value']],
    ['a value over in bytes, not characters', [e('BIG', 'é'.repeat(LIMITS.secretValueBytes / 2 + 1))], ['entries[0].value']],
    ['too many entries', Array.from({ length: LIMITS.secretEntries + 1 }, (_, i) => e(`k${i}`)), ['entries']],
    ['entries over their total size', Array.from({ length: 5 }, (_, i) => e(`k${i}`, VALUE + 'v'.repeat(60 * 1024))), ['entries']],
  ];
  for (const [what, entries, fields] of cases) {
    it(`${what} → ${fields.join(', ') || 'accepted'}`, () => {
      const err = refusal(() => validateSecretEntries(entries));
      assert.deepEqual(err?.violations.map((v) => v.field) ?? [], fields);
      if (err) assert.ok(!err.message.includes(VALUE), `the refusal quotes the value: ${err.message.slice(0, 200)}`);
    });
  }
});

describe('validateSecret', () => {
  it('names the request fields, or those under a prefix', () => {
    const err = refusal(() => validateSecret({ folderId: '', name: 'Bad Name', description: 'd'.repeat(300), labels: { Team: 'x' } }));
    assert.deepEqual(err?.violations.map((v) => v.field), ['folder_id', 'name', 'description', 'labels.Team']);
    const prefixed = refusal(() => validateSecret({ folderId: 'default', name: '', description: '', labels: {} }, 'secret'));
    assert.deepEqual(prefixed?.violations.map((v) => v.field), ['secret.name']);
  });
});
