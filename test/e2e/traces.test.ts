/**
 * Traces, end to end: a real `berth serve` (docker runtime) exporting to an
 * OTLP/HTTP receiver in this test. A caller's `traceparent` on an Execute
 * (REST and the typed gRPC service) comes back as the spans of that call
 * under the caller's trace id — Berth's server span, child of the caller's
 * span, and the span of its call to the worker — and the worker ran the
 * cell under that trace (the cell answers with the `TRACEPARENT` it saw,
 * whose parent is Berth's span). A node-API call to a Docker node reaches
 * the instance with a `traceparent` of the caller's trace whose parent is
 * Berth's span for that call. A call without one starts a trace of its own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSystemImage, buildTestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { callerTrace, parseTraceparent, startOtlpReceiver, traceNodes, type ReceivedSpan } from '../helpers/trace-fixtures';
import { typedClient, type TypedClient } from '../helpers/typed-client';
import { waitFor } from '../helpers/wait';

/** OTLP span kinds. */
const SERVER = 2;
const CLIENT = 3;

describe('traces of calls, exported over OTLP and handed to instances', () => {
  const clusterId = `tr${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-traces-'));
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let serve: ServeProcess | undefined;
  let skip = false;
  let http = '';
  let nodes: { checkpointNode: string; dockerNode: string };
  let typed: TypedClient;

  /** The spans of one trace, once `count` of them have arrived. */
  const spansOf = (traceId: string, count: number): Promise<ReceivedSpan[]> =>
    waitFor(`${count} spans of trace ${traceId}`, async () => {
      const found = receiver.spans.filter((s) => s.traceId === traceId);
      return found.length >= count ? found : undefined;
    }, 15_000);

  before(async () => {
    receiver = await startOtlpReceiver();
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const [images, systemImage] = await Promise.all([buildTestImages(), buildSystemImage()]);
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId, '--system-image', systemImage,
      '--pull-images', 'false', '--resync-ms', '1000', '--otlp-endpoint', receiver.url,
    ]);
    http = `http://127.0.0.1:${serve.httpPort}`;
    nodes = await traceNodes(http, images.http);
    const api = (await rest(http, 'GET', `/v1/nodes/${nodes.checkpointNode}/api`)).body;
    typed = typedClient(`127.0.0.1:${serve.grpcPort}`, api.protoFile, api.service);
  });

  after(async () => {
    typed?.close();
    serve?.proc.kill('SIGKILL');
    if (!skip) await removeByClusterId(clusterId);
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exports the spans of a REST Execute under the caller\'s trace id, and the worker ran the cell under Berth\'s span', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const caller = callerTrace();
    const res = await rest(http, 'POST', `/v1/nodes/${nodes.checkpointNode}:execute`, { input: { x: 1 } }, { traceparent: caller.traceparent });
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const spans = await spansOf(caller.traceId, 2);
    const server = spans.find((s) => s.kind === SERVER);
    const worker = spans.find((s) => s.kind === CLIENT);
    assert.ok(server && worker, JSON.stringify(spans));
    assert.equal(server.name, 'berth.v1.NodeService/Execute');
    assert.equal(server.parentSpanId, caller.spanId, "Berth's span is a child of the caller's");
    assert.equal(server.attributes['berth.node_id'], nodes.checkpointNode);
    assert.equal(server.attributes['http.route'], '/v1/nodes/{node_id}:execute');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.resource['service.name'], 'berth');
    assert.equal(worker.parentSpanId, server.spanId, "the worker call is a child of Berth's span");
    assert.equal(worker.name, 'POST /execute');
    assert.equal(typeof worker.attributes['berth.instance_id'], 'string');
    assert.ok(receiver.contentTypes.every((c) => c.startsWith('application/json')), 'OTLP/JSON');

    const seen = parseTraceparent(res.body.output.seen);
    assert.equal(seen.traceId, caller.traceId, 'the worker saw the caller\'s trace');
    assert.equal(seen.parentId, worker.spanId, "the worker's parent is Berth's span of the call to it");
    assert.equal(seen.flags, '01');
  });

  it('does the same for the typed gRPC service, with the traceparent in the metadata', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const caller = callerTrace();
    const answer = (await typed.execute({ x: 2 }, { traceparent: caller.traceparent })) as { seen: string };
    const spans = await spansOf(caller.traceId, 2);
    const server = spans.find((s) => s.kind === SERVER)!;
    const worker = spans.find((s) => s.kind === CLIENT)!;
    assert.equal(server.parentSpanId, caller.spanId);
    assert.equal(server.name, `${typed.service}/Execute`);
    assert.equal(server.attributes['rpc.grpc.status_code'], 0);
    assert.equal(worker.parentSpanId, server.spanId);
    const seen = parseTraceparent(answer.seen);
    assert.equal(seen.traceId, caller.traceId);
    assert.equal(seen.parentId, worker.spanId);
  });

  it("hands a node-API call's instance a traceparent of the caller's trace whose parent is Berth's span", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const caller = callerTrace();
    const res = await fetch(`http://127.0.0.1:${serve!.nodeApiPort}/headers`, { headers: { 'x-node-id': nodes.dockerNode, traceparent: caller.traceparent, tracestate: 'caller=1' } });
    assert.equal(res.status, 200);
    const echoed = ((await res.json()) as { headers: Record<string, string> }).headers;
    const [server] = await spansOf(caller.traceId, 1);
    assert.equal(server!.kind, SERVER);
    assert.equal(server!.parentSpanId, caller.spanId);
    assert.equal(server!.name, 'GET');
    assert.equal(server!.attributes['berth.node_id'], nodes.dockerNode);
    assert.equal(server!.attributes['http.response.status_code'], 200);
    const seen = parseTraceparent(echoed.traceparent!);
    assert.equal(seen.traceId, caller.traceId, "the instance saw the caller's trace");
    assert.equal(seen.parentId, server!.spanId, "and Berth's span as its parent");
    assert.equal(echoed.tracestate, 'caller=1', 'tracestate passes on');
  });

  it('starts a trace of its own for a call that brings none, and hands it on', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const res = await rest(http, 'POST', `/v1/nodes/${nodes.checkpointNode}:execute`, { input: { x: 3 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = parseTraceparent(res.body.output.seen);
    const spans = await spansOf(seen.traceId, 2);
    const server = spans.find((s) => s.kind === SERVER)!;
    assert.equal(server.parentSpanId, undefined, 'a root span');
    assert.equal(spans.find((s) => s.kind === CLIENT)!.spanId, seen.parentId);
  });

  it('records a span for a control-plane call too', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const caller = callerTrace();
    const res = await rest(http, 'GET', `/v1/nodes/${nodes.dockerNode}`, undefined, { traceparent: caller.traceparent });
    assert.equal(res.status, 200);
    const [span] = await spansOf(caller.traceId, 1);
    assert.equal(span!.name, 'berth.v1.NodeService/GetNode');
    assert.equal(span!.parentSpanId, caller.spanId);
  });
});
