import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { MIMEType } from 'node:util';
import { closeGently } from '../../gateway/gentle-close';
import { QuotaExceededError, UnsupportedMediaTypeError } from '../../domain/errors';

/** `application/json` and the structured `+json` types (`application/merge-patch+json`, …). */
const JSON_ESSENCE = /^application\/(?:json|[a-z0-9!#$&^_.+-]+\+json)$/;

/**
 * Refuses (415) a request whose body is not declared JSON: a `content-type`
 * other than a JSON one (charset, if named, UTF-8), or a body with none.
 * A bodyless request (a GET, a DELETE, a POST with nothing to say) needs no
 * content type. What a web page may send without a CORS preflight — a form
 * post, a `text/plain` fetch — never has a JSON content type, so this keeps
 * pages from writing through Berth even when `Origin` is not sent. The type
 * is parsed the WHATWG way, as browsers do (`util.MIMEType`).
 */
export function requireJsonContentType(headers: IncomingHttpHeaders): void {
  const value = headers['content-type'];
  if (value === undefined) {
    const length = headers['content-length'];
    const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (hasBody) throw new UnsupportedMediaTypeError('a request body must be JSON, sent with content-type: application/json');
    return;
  }
  let type: MIMEType | undefined;
  try {
    type = new MIMEType(value);
  } catch {
    type = undefined;
  }
  const shown = JSON.stringify(value.slice(0, 100));
  if (type === undefined || !JSON_ESSENCE.test(type.essence)) throw new UnsupportedMediaTypeError(`is ${shown}; Berth takes request bodies as JSON only (content-type: application/json)`);
  const charset = type.params.get('charset');
  if (charset !== null && charset.toLowerCase() !== 'utf-8') throw new UnsupportedMediaTypeError(`is ${shown}; JSON bodies must be UTF-8`);
}

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
