import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rest } from './rest';

/** A W3C `traceparent` as a caller sends it: a fresh trace and span, sampled. */
export function callerTrace(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The parts of a `traceparent` header. */
export function parseTraceparent(value: string): { traceId: string; parentId: string; flags: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  assert.ok(m, `not a traceparent: ${JSON.stringify(value)}`);
  return { traceId: m[1]!, parentId: m[2]!, flags: m[3]! };
}

/** One span as an OTLP/JSON export carries it, with its resource's attributes. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

function attributesOf(list: Array<{ key: string; value: Record<string, unknown> }> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = Object.values(value)[0];
  return out;
}

/**
 * An OTLP/HTTP receiver, as a collector listens: POST /v1/traces with an
 * ExportTraceServiceRequest in OTLP/JSON; keeps every span it is sent.
 */
export async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; contentTypes: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        const resource = attributesOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, attributes: attributesOf(s.attributes), resource });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A served cell that answers with the `traceparent` it was called under. */
export const TRACEPARENT_CELLS = ['import os', 'seen = os.environ.get("TRACEPARENT", "")'];

/**
 * Makes, through Berth's REST API, a checkpoint node whose output `seen` is
 * the `TRACEPARENT` its worker ran the call under, and a Docker node of the
 * HTTP test image (GET /headers echoes the request headers), one instance
 * each, and waits until both serve.
 */
export async function traceNodes(base: string, httpImage: string, headers: Record<string, string> = {}): Promise<{ checkpointNode: string; dockerNode: string }> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await rest(base, method, path, body, headers);
    assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const wait = async (operationId: string): Promise<string> => {
    const op = await call('POST', `/v1/operations/${operationId}:wait`, { timeout: '120s' });
    assert.equal(op.done, true, JSON.stringify(op));
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op.resourceId as string;
  };
  const checkpointId = await wait((await call('POST', '/v1/checkpoints', { folderId: 'default', name: 'traced', cells: { cells: TRACEPARENT_CELLS }, servedCellIndex: 1 })).id);
  const [checkpointOp, dockerOp] = await Promise.all([
    call('POST', '/v1/nodes', {
      folderId: 'default',
      name: 'traced',
      spec: {
        checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'seen', type: 'VARIABLE_TYPE_STR' }] },
        instanceRange: { min: 1, max: 1 },
      },
    }),
    call('POST', '/v1/nodes', {
      folderId: 'default',
      name: 'echo-headers',
      spec: {
        docker: {
          image: httpImage,
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
        },
        instanceRange: { min: 1, max: 1 },
        configuration: { cpu: 0.5, memoryBytes: String(128 * 1024 * 1024) },
      },
    }),
  ]);
  const [checkpointNode, dockerNode] = await Promise.all([wait(checkpointOp.id), wait(dockerOp.id)]);
  return { checkpointNode, dockerNode };
}
