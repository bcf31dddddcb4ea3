/**
 * The cipher of secret values: a value opens only with the key, IV, tag,
 * ciphertext and associated data it was sealed with.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SealedValue } from '../../src/domain/secret';
import { SecretCipher, SecretDecryptionError } from '../../src/secrets/cipher';

const AD = 'berth.secret.v1|sc1|1|password';

/** Flips one bit of a base64 field. */
function flipped(b64: string, bit = 0): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return bytes.toString('base64');
}

describe('SecretCipher', () => {
  const cipher = new SecretCipher(randomBytes(32));

  it('opens what it sealed, with a fresh IV each time', () => {
    const a = cipher.seal('hunter2 ünïcode', AD);
    const b = cipher.seal('hunter2 ünïcode', AD);
    assert.equal(cipher.open(a, AD), 'hunter2 ünïcode');
    assert.notEqual(a.iv, b.iv);
    assert.notEqual(a.data, b.data);
    assert.equal(Buffer.from(a.iv, 'base64').length, 12);
    assert.equal(Buffer.from(a.tag, 'base64').length, 16);
    assert.ok(!Buffer.from(a.data, 'base64').includes('hunter2'));
    assert.equal(cipher.open(cipher.seal('', AD), AD), '');
  });

  const tampered: Array<[string, (s: SealedValue) => SealedValue]> = [
    ['a bit of the ciphertext', (s) => ({ ...s, data: flipped(s.data, 5) })],
    ['a bit of the tag', (s) => ({ ...s, tag: flipped(s.tag, 9) })],
    ['a bit of the IV', (s) => ({ ...s, iv: flipped(s.iv, 3) })],
    ['a truncated tag', (s) => ({ ...s, tag: Buffer.from(s.tag, 'base64').subarray(0, 12).toString('base64') })],
    ['a ciphertext one byte longer', (s) => ({ ...s, data: Buffer.concat([Buffer.from(s.data, 'base64'), Buffer.of(0)]).toString('base64') })],
  ];
  for (const [what, tamper] of tampered) {
    it(`refuses ${what}`, () => {
      const sealed = cipher.seal('the value', AD);
      assert.throws(() => cipher.open(tamper(sealed), AD), SecretDecryptionError);
    });
  }

  const otherAd: Array<[string, string]> = [
    ['another secret', 'berth.secret.v1|sc2|1|password'],
    ['another version', 'berth.secret.v1|sc1|2|password'],
    ['another key', 'berth.secret.v1|sc1|1|username'],
    ['no associated data', ''],
  ];
  for (const [what, ad] of otherAd) {
    it(`refuses a value moved to ${what} (wrong associated data)`, () => {
      assert.throws(() => cipher.open(cipher.seal('the value', AD), ad), SecretDecryptionError);
    });
  }

  it('names a wrong key as such, and a wrong key with a forged key id still does not open', () => {
    const other = new SecretCipher(randomBytes(32));
    const sealed = cipher.seal('the value', AD);
    assert.throws(() => other.open(sealed, AD), /encrypted under key [0-9a-f]{16}, but the secret key file holds key [0-9a-f]{16}/);
    assert.throws(() => other.open({ ...sealed, keyId: other.keyId }, AD), /does not authenticate/);
  });

  it('takes only 32-byte keys', () => {
    assert.throws(() => new SecretCipher(randomBytes(16)), /32 bytes/);
  });
});
