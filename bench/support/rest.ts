/** Small HTTP helpers the benchmarks share: they call Berth's REST API as curl would. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A JSON call; returns the status and the parsed body (the text when it is not JSON). */
export async function rest(base: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + urlPath, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** The body of a call that must answer 200; anything else stops the benchmark, saying `what`. */
export async function must(what: string, call: Promise<{ status: number; body: any }>): Promise<any> {
  const res = await call;
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
