import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeGently } from '../../gateway/gentle-close';
import { QuotaExceededError } from '../../domain/errors';

/**
 * Reads a request body up to `limit` bytes. A declared length over the limit
 * is refused before a byte is read; an undeclared one is cut off as soon as it
 * passes the limit, so an oversize body is never buffered whole. The caller
 * answers 413 with `connection: close` and then closes the connection
 * ({@link closeAfter}), so the rest of the body is never read.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw tooLarge(declared, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early must not destroy the request: the caller still answers 413 on it.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.pause();
      throw tooLarge(size, limit);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function tooLarge(size: number, limit: number): QuotaExceededError {
  return new QuotaExceededError(`the request body is ${size > limit ? `over ${limit}` : size} bytes; the limit is ${limit} bytes`, 'request_size');
}

/** After an answer to a request whose body was not read to its end, closes the connection gently. */
export function closeAfter(_req: IncomingMessage, res: ServerResponse): void {
  closeGently(res);
}
