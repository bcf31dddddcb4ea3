import { isAscii } from 'node:buffer';

/** Below this many bytes the check costs about what it saves. */
const WORTH_CHECKING = 1024;

/**
 * The text of bytes that are all ASCII, or undefined: ASCII is UTF-8 that
 * needs no decoding, so a long ASCII body (the usual JSON, base64 and
 * numbers) becomes a string in one vectorised check and one copy, several
 * times less CPU than a UTF-8 decode of it. Undefined also for short bytes;
 * the caller decodes those, and any other text, as UTF-8 in its own way.
 */
export function asciiText(bytes: Uint8Array): string | undefined {
  if (bytes.length < WORTH_CHECKING || !isAscii(bytes)) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}
