import { randomUUID } from 'node:crypto';

/** The caller's `x-request-id` when it is a sane token, else a fresh one: every listener answers with it. */
export function requestIdOf(value: string | string[] | undefined): string {
  return typeof value === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID();
}
