const SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

/**
 * JSON.parse that keeps integers beyond 2^53 exact: such an integer literal
 * (no fraction, no exponent) is read as its decimal string, which int64
 * fields of protobuf JSON and checkpoint workers both accept. Everything else
 * parses as JSON.parse would; text that is not JSON throws its SyntaxError.
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(quoteBigIntegers(text));
}

/** The text with each integer literal beyond 2^53 in double quotes (strings left as they are). */
export function quoteBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote, past escapes.
      i++;
      while (i < text.length && text.charCodeAt(i) !== 0x22) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) {
        i++;
        continue;
      }
      const token = m[0];
      if (m[1] === undefined && m[2] === undefined && token.length > 15 && /^-?(0|[1-9]\d*)$/.test(token)) {
        const n = BigInt(token);
        if (n > SAFE || n < -SAFE) {
          out += `${text.slice(last, i)}"${token}"`;
          last = i + token.length;
        }
      }
      i += token.length;
    } else i++;
  }
  return last === 0 ? text : out + text.slice(last);
}
