import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asciiText } from '../../src/domain/ascii-text';

describe('ASCII text', () => {
  it('is the UTF-8 text of long ASCII bytes, a view into a larger buffer included', () => {
    const text = '{"y": "' + 'abc\\n\\u00e9 \x01\x7f'.repeat(500) + '"}';
    const bytes = Buffer.from(text);
    assert.equal(asciiText(bytes), text);
    const framed = Buffer.concat([Buffer.from('\xff\xfe', 'latin1'), bytes, Buffer.from('\xff', 'latin1')]);
    assert.equal(asciiText(framed.subarray(2, 2 + bytes.length)), text);
    assert.equal(asciiText(new Uint8Array(framed.buffer, framed.byteOffset + 2, bytes.length)), text);
  });

  it('leaves other bytes and short ones to the caller', () => {
    assert.equal(asciiText(Buffer.from('é' + 'a'.repeat(2000))), undefined);
    assert.equal(asciiText(Buffer.from('a'.repeat(2000) + '\u{1f600}')), undefined);
    assert.equal(asciiText(Buffer.from([...Buffer.from('a'.repeat(2000)), 0x80])), undefined);
    assert.equal(asciiText(Buffer.from('short')), undefined);
  });
});
