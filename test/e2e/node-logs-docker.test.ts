/**
 * Logs of a Docker node: the test HTTP image prints a line per request
 * (LOG_REQUESTS=true); the line is in ListNodeLogs (gRPC and REST) and in a
 * followed stream (gRPC StreamNodeLogs and REST NDJSON with follow=true)
 * within a second of the request. Bad input is INVALID_ARGUMENT naming the field.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import { ListNodeLogsRequest, StreamNodeLogsRequest, type NodeLogEntry } from '../../gen/berth/v1/node_log';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, grpcViolations, unary } from '../helpers/grpc';
import { rest, restViolations } from '../helpers/rest';
import { waitFor } from '../helpers/wait';
import { buildTestImages } from '../images/test-images';

describe('logs of a Docker node', () => {
  let t: TestBerth | undefined;
  let c: ReturnType<typeof clients>;
  let nodeId = '';
  let skip = false;
  const clusterId = `logs${randomBytes(4).toString('hex')}`;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const images = await buildTestImages();
    t = await startTestBerth('sqlite', { runtime: 'docker', clusterId, pullImages: false, startupTimeoutMs: 60_000 });
    c = clients(t!.grpc);
    const created = await rest(t!.http, 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'chatty',
      spec: {
        docker: {
          image: images.http,
          env: { LOG_REQUESTS: 'true' },
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.5s', timeout: '1s' },
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeId = created.body.resourceId;
    const done = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(done.body.done, true, JSON.stringify(done.body));
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
  });

  after(async () => {
    c?.close();
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  const request = async (marker: string): Promise<number> => {
    const res = await fetch(`http://127.0.0.1:${t!.berth.nodeApiPort}/whoami?${marker}`, { headers: { 'x-node-id': nodeId } });
    assert.equal(res.status, 200);
    await res.text();
    return Date.now();
  };

  it('a request line is in ListNodeLogs within 1 s, over gRPC and REST', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const marker = `m${randomBytes(4).toString('hex')}`;
    const sent = await request(marker);
    const entry = await waitFor(
      'the request line in ListNodeLogs',
      async () => {
        const res = await unary<any, any>(c.nodes, 'listNodeLogs', ListNodeLogsRequest.fromPartial({ nodeId, contains: marker, pageSize: 10 }));
        return res.entries[0] as NodeLogEntry | undefined;
      },
      5000,
      50,
    );
    assert.ok(Date.now() - sent < 1000, `the line took ${Date.now() - sent} ms`);
    assert.equal(entry.text, `request GET /whoami?${marker}`);
    assert.equal(entry.stream, 'stdout');
    assert.equal(entry.nodeId, nodeId);
    assert.match(entry.instanceId, /^in/);
    assert.ok(entry.time && Math.abs(entry.time.getTime() - sent) < 5000);

    const listed = await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?contains=${marker}&stream=stdout&follow=false`);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.entries.map((e: any) => e.text),
      [`request GET /whoami?${marker}`],
    );
    // The startup line is there too, and paging walks every line once.
    const seen: string[] = [];
    let token = '';
    for (let i = 0; i < 100; i++) {
      const page = await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?page_size=2${token ? `&page_token=${token}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...page.body.entries.map((e: any) => e.id));
      token = page.body.nextPageToken;
      if (!token) break;
    }
    assert.equal(new Set(seen).size, seen.length);
    const all = await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?page_size=1000&contains=listening`);
    assert.equal(all.body.entries.length, 1, JSON.stringify(all.body));
  });

  it('a followed stream gets the line within 1 s: gRPC, REST NDJSON and server-sent events', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const marker = `f${randomBytes(4).toString('hex')}`;
    // gRPC: StreamNodeLogs with follow.
    const call = c.nodes.streamNodeLogs(StreamNodeLogsRequest.fromPartial({ nodeId, stream: 'stdout', tailLines: 1, follow: true }));
    const grpcLine = new Promise<number>((resolve, reject) => {
      call.on('data', (e: NodeLogEntry) => {
        if (e.text.includes(marker)) resolve(Date.now());
      });
      call.on('error', (err: ServiceError) => {
        if (err.code !== 1) reject(err);
      });
    });
    // REST: the same path as the listing, with follow=true, read as it comes.
    const controller = new AbortController();
    // Nothing matches yet: the stream opens all the same, before its first line.
    const res = await fetch(`${t!.http}/v1/nodes/${nodeId}/logs?follow=true&contains=${marker}`, { signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    // The same as server-sent events, as a browser's EventSource asks.
    const sseRes = await fetch(`${t!.http}/v1/nodes/${nodeId}/logs?follow=true&stream=stdout`, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
    assert.equal(sseRes.status, 200);
    assert.match(sseRes.headers.get('content-type') ?? '', /text\/event-stream/);
    const sseLine = (async () => {
      const reader = sseRes.body!.getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffered += Buffer.from(value).toString('utf8');
        for (const event of buffered.split('\n\n').slice(0, -1)) {
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (data && JSON.parse(data).text?.includes(marker)) return Date.now();
        }
        buffered = buffered.slice(buffered.lastIndexOf('\n\n') + 2);
      }
    })();
    const restLine = (async () => {
      const reader = res.body!.getReader();
      let buffered = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffered += Buffer.from(value).toString('utf8');
        for (const line of buffered.split('\n').slice(0, -1)) if (JSON.parse(line).text?.includes(marker)) return Date.now();
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const sent = await request(marker);
    const [g, r, e] = await Promise.all([grpcLine, restLine, sseLine]);
    call.cancel();
    controller.abort();
    assert.ok(g - sent < 1000, `gRPC stream: ${g - sent} ms`);
    assert.ok(r - sent < 1000, `REST stream: ${r - sent} ms`);
    assert.ok(e - sent < 1000, `server-sent events: ${e - sent} ms`);
  });

  it('events tell the instance was created, started and became healthy', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const res = await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/events`);
    assert.equal(res.status, 200);
    const reasons = res.body.events.map((e: any) => e.reason);
    for (const r of ['RolloutStarted', 'InstanceCreated', 'InstanceStarted', 'InstanceHealthy']) assert.ok(reasons.includes(r), `${r} in ${reasons}`);
    const lines = await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/logs?stream=event`);
    assert.ok(lines.body.entries.some((e: any) => /InstanceHealthy/.test(e.text)), JSON.stringify(lines.body));
  });

  it('an alias switch involving the node is one of its events', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const alias = await rest(t!.http, 'POST', '/v1/aliases', { folderId: 'default', name: 'front', targets: [{ nodeId, weight: 100 }] });
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    const removed = await rest(t!.http, 'DELETE', `/v1/aliases/${alias.body.id}`);
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const switches = await waitFor('two AliasSwitched events', async () => {
      const events = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/events`)).body.events.filter((e: any) => e.reason === 'AliasSwitched');
      return events.length === 2 ? events : undefined;
    }, 5000, 50);
    assert.deepEqual(
      switches.map((e: any) => e.message),
      ['alias "front" sends 100% of its calls here (was 0%)', 'alias "front" sends 0% of its calls here (was 100%)'],
    );
  });

  it('bad input is INVALID_ARGUMENT naming the field, never a 5xx', async (tc) => {
    if (skip) return tc.skip('no Docker engine');
    const cases: Array<[string, string]> = [
      [`/v1/nodes/${nodeId}/logs?page_size=5000`, 'page_size'],
      [`/v1/nodes/${nodeId}/logs?page_size=-1`, 'page_size'],
      [`/v1/nodes/${nodeId}/logs?stream=stdin`, 'stream'],
      [`/v1/nodes/${nodeId}/logs?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z`, 'end_time'],
      [`/v1/nodes/${nodeId}/logs?start_time=yesterday`, 'start_time'],
      [`/v1/nodes/${nodeId}/logs?page_token=nonsense`, 'page_token'],
      [`/v1/nodes/${nodeId}/logs?contains=${'x'.repeat(300)}`, 'contains'],
      [`/v1/nodes/${nodeId}/logs?follow=true&tail_lines=20000`, 'tail_lines'],
      [`/v1/nodes/${nodeId}/logs?follow=true&page_size=3`, 'page_size'],
      [`/v1/nodes/${nodeId}/logs:stream?stream=x`, 'stream'],
      [`/v1/nodes/${nodeId}/events?page_size=1001`, 'page_size'],
      [`/v1/nodes/${nodeId}/events?start_time=2026-01-02T00:00:00Z&end_time=2026-01-01T00:00:00Z`, 'end_time'],
    ];
    for (const [path, field] of cases) {
      const res = await rest(t!.http, 'GET', path);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.body)}`);
      assert.ok(restViolations(res.body).includes(field), `${path}: ${JSON.stringify(res.body)}`);
    }
    const missing = await rest(t!.http, 'GET', `/v1/nodes/nd0000000000000000000/logs?follow=true`);
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    const err = await unary<any, any>(c.nodes, 'listNodeLogs', ListNodeLogsRequest.fromPartial({ nodeId, stream: 'bogus' })).catch((e: ServiceError) => e);
    assert.equal((err as ServiceError).code, 3);
    assert.deepEqual(grpcViolations(err as ServiceError), ['stream']);
    const streamErr = await new Promise<ServiceError>((resolve) => {
      const call = c.nodes.streamNodeLogs(StreamNodeLogsRequest.fromPartial({ nodeId, tailLines: -5 }));
      call.on('data', () => {});
      call.on('error', resolve);
    });
    assert.equal(streamErr.code, 3);
    assert.deepEqual(grpcViolations(streamErr), ['tail_lines']);
  });
});
