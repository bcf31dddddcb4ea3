import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** `value`'s lowest 5 × `length` bits in Crockford's base32 (lower case), most significant first. */
export function base32(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)]! + out;
    value >>= 5n;
  }
  return out;
}

export type IdPrefix = 'fl' | 'nd' | 'al' | 'ck' | 'op' | 'in' | 'pr' | 'ak' | 'au' | 'sc' | 'us';

/**
 * Ids sort by creation time (a millisecond timestamp first), so keyset paging
 * by id lists resources in creation order; lowercase alphanumerics so they fit
 * container names, labels, hostnames and URL paths unescaped.
 */
export function newId(prefix: IdPrefix, now = Date.now()): string {
  const random = BigInt('0x' + randomBytes(7).toString('hex'));
  return prefix + base32(BigInt(now), 9) + base32(random, 10);
}
