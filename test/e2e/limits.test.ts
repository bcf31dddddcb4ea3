/**
 * The request/response size limit (`--max-message-bytes`, 16 MiB by default)
 * on every path, end to end: real `berth serve` processes with default
 * limits, real sockets on loopback.
 *
 * - REST control plane and the REST/typed Execute routes: 413 with a
 *   google.rpc.Status body of code 8 (RESOURCE_EXHAUSTED), before a byte of a
 *   declared oversize body is read (also for `Expect: 100-continue`), and in a
 *   form the client reads even while it is still sending;
 * - gRPC `NodeService.Execute`: RESOURCE_EXHAUSTED;
 * - checkpoint Execute: 15 MiB requests and responses pass whole, a response
 *   over the limit is refused, and the limit is about the caller's message,
 *   not the JSON Berth exchanges with its worker;
 * - the node API in front of a Docker node: an upload over the limit is
 *   refused without reaching the instance (declared length) or as soon as it
 *   passes the limit (undeclared), a 15 MiB body goes through whole, and a
 *   response over the limit is refused (502, code 8) or cut;
 * - a flood of 64 MiB uploads leaves Berth's memory flat and other calls fast.
 *
 * Checkpoint paths run on a `--runtime process` server (python3 on the host);
 * node-API paths on a `--runtime docker` server, skipped loudly when no Docker
 * engine answers (a failure with BERTH_REQUIRE_DOCKER=1). The Docker node
 * runs the berth-test-http image with a small inline server as its command, so
 * that it can report what it received and answer with bodies of any size.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { NodeServiceClient, type NodeExecutionRequest, type NodeExecutionResponse } from '../../gen/berth/v1/node_service';
import { buildTestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep } from '../helpers/wait';

const MiB = 1024 * 1024;
/** The default of --max-message-bytes. */
const LIMIT = 16 * MiB;
const OVER = LIMIT + 1;
const UNDER = 15 * MiB;
const FLOOD_CALLS = 20;
const FLOOD_BYTES = 64 * MiB;
/** How much the serve process's RSS may grow during the flood. */
const RSS_BUDGET = 100 * MiB;

/** 1 MiB of random bytes, repeated to make every large body: no body is ever held whole. */
const PATTERN = randomBytes(MiB);
/** 1 MiB of 'a', for the insides of JSON strings. */
const LETTERS = Buffer.alloc(MiB, 'a');

/** A body made of `prefix`, then `fill` repeated, then `suffix`: `size` bytes in all. */
interface BodySpec {
  size: number;
  prefix?: string;
  suffix?: string;
  fill?: Buffer;
}

function* chunksOf(spec: BodySpec): Generator<Buffer> {
  const prefix = Buffer.from(spec.prefix ?? '');
  const suffix = Buffer.from(spec.suffix ?? '');
  const fill = spec.fill ?? PATTERN;
  let middle = spec.size - prefix.length - suffix.length;
  assert.ok(middle >= 0, 'the body is smaller than its prefix and suffix');
  if (prefix.length > 0) yield prefix;
  while (middle > 0) {
    const c = middle >= fill.length ? fill : fill.subarray(0, middle);
    middle -= c.length;
    yield c;
  }
  if (suffix.length > 0) yield suffix;
}

function digestOf(spec: BodySpec): string {
  const h = createHash('sha256');
  for (const c of chunksOf(spec)) h.update(c);
  return h.digest('hex');
}

/** What a raw HTTP/1.1 exchange ended with. */
interface Reply {
  status?: number;
  headers?: http.IncomingHttpHeaders;
  /** Response body bytes received. */
  bytes: number;
  sha: string;
  /** The first 64 KiB of the response body, as text. */
  text: string;
  /** Why the exchange ended without a complete response, if it did. */
  error?: string;
  /** Request body bytes handed to the socket. */
  sent: number;
  /** A 100 Continue came. */
  continued: boolean;
  ms: number;
}

interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: BodySpec;
  /** Send `content-length` (default) or stream the body chunked. */
  declare?: boolean;
  /** Send the head only, then wait for the answer without sending a byte of the body. */
  withhold?: boolean;
  /** Send `expect: 100-continue` and the body only after a 100 Continue. */
  expectContinue?: boolean;
}

/**
 * One request on a fresh connection with node:http, streaming its body with
 * backpressure and stopping as soon as an answer arrives. Resolves with what
 * came back, or how the exchange broke; never rejects.
 */
function send(base: string, pathname: string, o: SendOptions = {}): Promise<Reply> {
  const url = new URL(pathname, base);
  const started = Date.now();
  const headers: Record<string, string> = { ...o.headers };
  if (o.body && o.declare !== false) headers['content-length'] = String(o.body.size);
  if (o.expectContinue) headers.expect = '100-continue';
  return new Promise((resolve) => {
    let sent = 0;
    let continued = false;
    let answered = false;
    let settled = false;
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    let status: number | undefined;
    let resHeaders: http.IncomingHttpHeaders | undefined;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      const text = Buffer.concat(kept).toString('utf8');
      resolve({ status, headers: resHeaders, bytes, sha: hash.digest('hex'), text, error, sent, continued, ms: Date.now() - started });
      req.destroy();
    };
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: o.method ?? 'POST', headers, agent: false },
      (res) => {
        answered = true;
        status = res.statusCode;
        resHeaders = res.headers;
        res.on('data', (c: Buffer) => {
          if (bytes < 64 * 1024) kept.push(c.subarray(0, 64 * 1024 - bytes));
          bytes += c.length;
          hash.update(c);
        });
        res.on('end', () => done());
        res.on('error', (err) => done(`response: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
        res.on('close', () => done(res.complete ? undefined : 'response cut short'));
      },
    );
    req.on('error', (err) => {
      // A response may still be on its way when the upload breaks: give it a moment.
      const why = (err as NodeJS.ErrnoException).code ?? err.message;
      if (answered) setTimeout(() => done(`request: ${why}`), 200);
      else done(`request: ${why}`);
    });
    if (!o.body) {
      req.end();
      return;
    }
    if (o.withhold) {
      req.flushHeaders();
      return;
    }
    const chunks = chunksOf(o.body);
    const pump = (): void => {
      for (;;) {
        if (answered || settled || req.destroyed) return;
        const next = chunks.next();
        if (next.done) {
          req.end();
          return;
        }
        sent += next.value.length;
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    if (!o.expectContinue) return pump();
    req.flushHeaders();
    req.once('continue', () => {
      continued = true;
      pump();
    });
  });
}

/** A parsed JSON error body, or undefined when the text is not JSON. */
function json(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A REST answer with a google.rpc.Status of RESOURCE_EXHAUSTED and the given HTTP status. */
function assertRefused(r: Reply, httpStatus: number, what: string): void {
  assert.equal(r.status, httpStatus, `${what}: ${JSON.stringify({ ...r, text: r.text.slice(0, 300) })}`);
  const body = json(r.text);
  assert.equal(body?.code, grpc.status.RESOURCE_EXHAUSTED, `${what}: ${r.text}`);
  assert.equal(typeof body.message, 'string');
}

/** Refused one way or another: a 413 with code 8, or, once the caller has sent more than the limit, a broken connection. */
function assertRefusedOrReset(r: Reply, what: string): 'status' | 'reset' {
  if (r.status !== undefined) {
    assertRefused(r, 413, what);
    return 'status';
  }
  assert.ok(r.error, `${what}: neither an answer nor an error`);
  assert.ok(r.sent > LIMIT, `${what}: the connection broke after only ${r.sent} bytes (${r.error})`);
  return 'reset';
}

/** VmRSS of a process, in bytes. */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/**
 * The Docker node's server: `/echo` answers with the body it got (with its
 * length), `/sink` reads and drops it, `/bytes?n=&chunked=1` sends n bytes,
 * `/seen` reports what each `?tag=` delivered.
 */
const INSTANCE_SERVER = `
const http = require('node:http');
const seen = {};
const chunk = Buffer.alloc(65536, 120);
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const json = (status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (url.pathname === '/healthz') return json(200, { ok: true });
  if (url.pathname === '/seen') return json(200, seen);
  const tag = url.searchParams.get('tag') || 'untagged';
  const mine = (seen[tag] = seen[tag] || { requests: 0, bytes: 0, completed: 0 });
  mine.requests++;
  const parts = [];
  req.on('data', (c) => {
    mine.bytes += c.length;
    if (url.pathname === '/echo') parts.push(c);
  });
  req.on('end', () => {
    mine.completed++;
    if (url.pathname === '/echo') {
      const body = Buffer.concat(parts);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      return res.end(body);
    }
    if (url.pathname === '/sink') return json(200, { bytes: mine.bytes });
    if (url.pathname === '/bytes') {
      let left = Number(url.searchParams.get('n'));
      res.writeHead(200, url.searchParams.get('chunked') === '1' ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': left });
      res.on('close', () => (left = 0));
      const pump = () => {
        while (left > 0) {
          const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= c.length;
          if (!res.write(c)) return res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    json(404, { error: 'no route' });
  });
}).listen(8080, '0.0.0.0');
`;

class Server {
  serve: ServeProcess | undefined;
  http = '';
  nodeApi = '';
  grpcAddress = '';
  stderr = '';
  stopping = false;

  constructor(
    readonly dataDir: string,
    readonly clusterId: string,
  ) {}

  async start(runtime: 'docker' | 'process'): Promise<void> {
    this.serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', this.dataDir, '--runtime', runtime, '--cluster-id', this.clusterId,
      '--pull-images', 'false', '--resync-ms', '1000', '--startup-timeout-ms', '60000',
    ]);
    const proc = this.serve.proc;
    proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8192)));
    proc.on('exit', (code, signal) => {
      if (!this.stopping) console.error(`berth serve (${runtime}) exited unexpectedly: code ${code}, signal ${signal}\n${this.stderr}`);
    });
    this.http = `http://127.0.0.1:${this.serve.httpPort}`;
    this.nodeApi = `http://127.0.0.1:${this.serve.nodeApiPort}`;
    this.grpcAddress = `127.0.0.1:${this.serve.grpcPort}`;
  }

  get pid(): number {
    return this.serve!.proc.pid!;
  }

  async wait(operationId: string): Promise<any> {
    const op = await rest(this.http, 'POST', `/v1/operations/${operationId}:wait`, { timeout: '60s' });
    assert.equal(op.status, 200, JSON.stringify(op.body));
    assert.equal(op.body.done, true, JSON.stringify(op.body));
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    return op.body;
  }

  async create(pathname: string, body: unknown): Promise<any> {
    const created = await rest(this.http, 'POST', pathname, body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return this.wait(created.body.id);
  }

  async stop(): Promise<void> {
    if (!this.serve) return;
    this.stopping = true;
    this.serve.proc.kill('SIGKILL');
    await this.serve.exited;
  }

  /** Process instances are process groups that outlive Berth by design: end the ones it recorded. */
  killProcessInstances(): void {
    const stateDir = path.join(this.dataDir, 'processes');
    for (const file of existsSync(stateDir) ? readdirSync(stateDir).filter((f) => f.endsWith('.json')) : []) {
      try {
        const { pid } = JSON.parse(readFileSync(path.join(stateDir, file), 'utf8'));
        if (Number.isInteger(pid) && pid > 1) process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

describe(`the ${LIMIT}-byte size limit on every path`, () => {
  const tag = randomBytes(4).toString('hex');
  const py = new Server(mkdtempSync(path.join(os.tmpdir(), 'berth-limits-p-')), `lim${tag}p`);
  const dk = new Server(mkdtempSync(path.join(os.tmpdir(), 'berth-limits-d-')), `lim${tag}d`);
  let docker = false;
  /** The server the REST control-plane checks run against: the Docker one when there is one. */
  let main: Server = py;
  let checkpointNode = '';
  let dockerNode = '';
  let rpc: NodeServiceClient;

  const execute = (input: Record<string, unknown>) =>
    unary<Partial<NodeExecutionRequest>, NodeExecutionResponse>(rpc, 'execute', { folderId: 'default', nodeId: checkpointNode, input });
  const grpcFailure = async (input: Record<string, unknown>): Promise<grpc.ServiceError> => {
    try {
      await execute(input);
    } catch (err) {
      if ((err as grpc.ServiceError).code === undefined) throw err;
      return err as grpc.ServiceError;
    }
    return assert.fail('the call succeeded');
  };
  /** What the Docker node's instance received, by tag. */
  const seen = async (): Promise<Record<string, { requests: number; bytes: number; completed: number }>> => {
    const r = await send(dk.nodeApi, '/seen', { method: 'GET', headers: { 'x-node-id': dockerNode } });
    assert.equal(r.status, 200, r.text);
    return JSON.parse(r.text);
  };

  before(async () => {
    docker = await dockerAvailable();
    if (!docker) console.warn(`\n*** SKIPPING the node-API size-limit tests: no Docker engine answers ***\n`);
    const images = docker ? buildTestImages() : undefined;
    await Promise.all([py.start('process'), docker ? images!.then(() => dk.start('docker')) : undefined]);
    if (docker) main = dk;
    rpc = new NodeServiceClient(py.grpcAddress, grpc.credentials.createInsecure(), {
      // The client's own limits are out of the way: what is refused is refused by Berth.
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });

    const checkpointSetUp = (async () => {
      // The served cell is compiled at capture time and run per call, with s and k bound as globals.
      const captured = await py.create('/v1/checkpoints', {
        folderId: 'default',
        name: 'echo',
        cells: { cells: ['pass', 'n = len(s)\nback = s * k'] },
        servedCellIndex: 1,
      });
      const node = await py.create('/v1/nodes', {
        folderId: 'default',
        name: 'echo',
        spec: {
          checkpoint: {
            checkpointId: captured.response.id,
            inputVariables: [
              { name: 's', type: 'VARIABLE_TYPE_STR' },
              { name: 'k', type: 'VARIABLE_TYPE_INT' },
            ],
            outputVariables: [
              { name: 'n', type: 'VARIABLE_TYPE_INT' },
              { name: 'back', type: 'VARIABLE_TYPE_STR' },
            ],
          },
          instanceRange: { min: 1, max: 1 },
        },
      });
      checkpointNode = node.resourceId;
    })();
    const dockerSetUp = (async () => {
      if (!docker) return;
      const node = await dk.create('/v1/nodes', {
        folderId: 'default',
        name: 'sizes',
        spec: {
          docker: {
            image: (await images!).http,
            command: ['/usr/local/bin/node', '-e', INSTANCE_SERVER],
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '60s' },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.5s', timeout: '1s', failsThreshold: 3, passesThreshold: 1 },
          },
          instanceRange: { min: 1, max: 1 },
          configuration: { cpu: 1, memoryBytes: String(512 * MiB) },
        },
      });
      assert.equal(node.response.status.state, 'NODE_STATE_HEALTHY', JSON.stringify(node.response.status));
      dockerNode = node.resourceId;
    })();
    await Promise.all([checkpointSetUp, dockerSetUp]);
  });

  after(async () => {
    rpc?.close();
    await Promise.all([py.stop(), dk.stop()]);
    py.killProcessInstances();
    if (docker) await removeByClusterId(dk.clusterId);
    for (const s of [py, dk]) rmSync(s.dataDir, { recursive: true, force: true });
  });

  it(`refuses ${FLOOD_CALLS} concurrent 64 MiB uploads at the REST port and the node API with flat memory, and serves other calls meanwhile`, async () => {
    const nodeHeaders = { 'x-node-id': dockerNode, 'content-type': 'application/octet-stream' };
    // Warm up the paths the flood and the probes take, so that the baseline includes them.
    await rest(main.http, 'GET', '/v1/folders/default');
    if (docker) await send(dk.nodeApi, '/sink?tag=warm', { headers: nodeHeaders, body: { size: 1024 } });
    await sleep(300);
    const baseline = rssOf(main.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(main.pid))), 20);

    const json64: BodySpec = { size: FLOOD_BYTES, prefix: '{"name":"', fill: LETTERS, suffix: '"}' };
    const started = Date.now();
    const many = <T>(n: number, f: () => Promise<T>) => Promise.all(Array.from({ length: n }, f));
    const flood = {
      rest: many(FLOOD_CALLS, () => send(main.http, '/v1/folders', { headers: { 'content-type': 'application/json' }, body: json64 })),
      nodeApi: docker ? many(FLOOD_CALLS, () => send(dk.nodeApi, '/sink?tag=flood', { headers: nodeHeaders, body: { size: FLOOD_BYTES } })) : Promise.resolve([]),
      // Undeclared uploads stream to the instance until they pass the limit: with backpressure, never buffered.
      nodeApiChunked: docker
        ? many(5, () => send(dk.nodeApi, '/sink?tag=flood-chunked', { headers: nodeHeaders, body: { size: FLOOD_BYTES }, declare: false }))
        : Promise.resolve([]),
    };
    // Small calls while the flood is on.
    await sleep(20);
    const probeStarted = Date.now();
    const probes = await Promise.all([
      rest(main.http, 'GET', '/v1/folders/default'),
      docker ? send(dk.nodeApi, '/echo?tag=probe', { headers: nodeHeaders, body: { size: 5 } }) : undefined,
    ]);
    const probeMs = Date.now() - probeStarted;
    const replies = { rest: await flood.rest, nodeApi: await flood.nodeApi, nodeApiChunked: await flood.nodeApiChunked };
    const floodMs = Date.now() - started;
    clearInterval(sampler);
    await sleep(200);
    const afterwards = rssOf(main.pid);
    peak = Math.max(peak, afterwards);

    const all = [...replies.rest, ...replies.nodeApi, ...replies.nodeApiChunked];
    console.log(
      `serve RSS with ${all.length} concurrent ${mb(FLOOD_BYTES)} uploads: before ${mb(baseline)}, peak ${mb(peak)}, ` +
        `after ${mb(afterwards)} (growth ${mb(peak - baseline)}); flood over in ${floodMs} ms, small calls answered in ${probeMs} ms`,
    );
    const tally = (rs: Reply[]) => JSON.stringify(rs.reduce<Record<string, number>>((acc, r) => ({ ...acc, [String(r.status ?? r.error)]: (acc[String(r.status ?? r.error)] ?? 0) + 1 }), {}));
    console.log(`flood outcomes: REST ${tally(replies.rest)}, node API ${tally(replies.nodeApi)}, node API chunked ${tally(replies.nodeApiChunked)}`);
    console.log(`flood: ${mb(all.reduce((a, r) => a + r.sent, 0))} of ${mb(all.length * FLOOD_BYTES)} were written before the refusals stopped the uploads`);

    assert.ok(peak - baseline < RSS_BUDGET, `RSS grew by ${mb(peak - baseline)}`);
    // The head declares 64 MiB: the 413 comes before the body is read, and it must reach a client
    // still busy writing (a reset that overtakes it leaves the caller with no code at all).
    for (const r of [...replies.rest, ...replies.nodeApi]) assertRefused(r, 413, 'a flooded upload');
    for (const r of replies.nodeApiChunked) assertRefusedOrReset(r, 'a flooded chunked upload');

    assert.equal(probes[0]!.status, 200, JSON.stringify(probes[0]!.body));
    if (docker) {
      assert.equal(probes[1]!.status, 200, JSON.stringify(probes[1]));
      assert.equal(probes[1]!.bytes, 5);
      const got = await seen();
      assert.equal(got.flood, undefined, `the instance saw declared flooded uploads: ${JSON.stringify(got.flood)}`);
      const chunked = got['flood-chunked'];
      assert.ok(chunked && chunked.completed === 0 && chunked.bytes <= 5 * LIMIT, `the instance got ${JSON.stringify(chunked)}`);
    }
    assert.ok(probeMs < 5_000, `small calls took ${probeMs} ms during the flood`);
  });

  describe('REST control plane', () => {
    it('answers a declared 16 MiB + 1 body with 413 and code 8 before reading a byte of it', async () => {
      const r = await send(main.http, '/v1/folders', { headers: { 'content-type': 'application/json' }, body: { size: OVER }, withhold: true });
      assertRefused(r, 413, 'POST /v1/folders with a withheld body');
      assert.equal(r.sent, 0);
      assert.equal(r.headers?.connection, 'close');
      assert.match(json(r.text).message, new RegExp(`${LIMIT}`));
    });

    it('answers Expect: 100-continue for a 16 MiB + 1 body with 413, not 100 Continue', async () => {
      const r = await send(main.http, '/v1/folders', { headers: { 'content-type': 'application/json' }, body: { size: OVER }, expectContinue: true });
      assertRefused(r, 413, 'POST /v1/folders with Expect: 100-continue');
      assert.equal(r.continued, false, 'the client was told to send the body');
      assert.equal(r.sent, 0);
    });

    it('refuses a declared 16 MiB + 1 JSON body that is sent in full', async () => {
      const r = await send(main.http, '/v1/folders', {
        headers: { 'content-type': 'application/json' },
        body: { size: OVER, prefix: '{"name":"', fill: LETTERS, suffix: '"}' },
      });
      assertRefused(r, 413, 'POST /v1/folders');
      assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
    });

    it('takes a body of exactly the limit, refused for what it says in a short answer', async () => {
      const r = await send(main.http, '/v1/folders', {
        headers: { 'content-type': 'application/json' },
        body: { size: LIMIT, prefix: '{"name":"', fill: LETTERS, suffix: '"}' },
      });
      assert.equal(r.status, 400, r.text.slice(0, 300));
      // The answer names the problem without quoting the 16 MiB value back (once in the message, once in
      // the BadRequest detail, which would make a 32 MiB answer to a 16 MiB request).
      assert.ok(r.bytes < 64 * 1024, `the 400 answer is ${r.bytes} bytes: ${r.text.slice(0, 200)}…`);
      assert.equal(json(r.text)?.code, grpc.status.INVALID_ARGUMENT, r.text.slice(0, 300));
    });
  });

  describe('checkpoint Execute', () => {
    const input = (size: number, k = 0): BodySpec => {
      const prefix = '{"input":{"s":"';
      const suffix = `","k":${k}}}`;
      return { size, prefix, fill: LETTERS, suffix };
    };
    const stringOf = (spec: BodySpec) => spec.size - Buffer.byteLength(spec.prefix ?? '') - Buffer.byteLength(spec.suffix ?? '');

    it('REST: a 15 MiB request is answered with its length; 16 MiB + 1 gets 413 and code 8', async () => {
      const ok = input(UNDER);
      const r = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, { headers: { 'content-type': 'application/json' }, body: ok });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(json(r.text), { output: { n: stringOf(ok), back: '' } });

      const over = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, { headers: { 'content-type': 'application/json' }, body: input(OVER) });
      assertRefused(over, 413, 'REST Execute of 16 MiB + 1');
    });

    it('typed REST route: a 15 MiB request is answered; 16 MiB + 1 gets 413 and code 8', async () => {
      const typed = (size: number): BodySpec => ({ size, prefix: '{"s":"', fill: LETTERS, suffix: '","k":0}' });
      const ok = typed(UNDER);
      const r = await send(py.http, `/v1/nodes/${checkpointNode}/api:execute`, { headers: { 'content-type': 'application/json' }, body: ok });
      assert.equal(r.status, 200, r.text);
      // int64 in protobuf JSON: a decimal string.
      assert.deepEqual(json(r.text), { n: String(stringOf(ok)), back: '' });

      const withheld = await send(py.http, `/v1/nodes/${checkpointNode}/api:execute`, { headers: { 'content-type': 'application/json' }, body: typed(OVER), withhold: true });
      assertRefused(withheld, 413, 'typed Execute of 16 MiB + 1, body withheld');
      assert.equal(withheld.headers?.connection, 'close', 'the connection is closed, so the refused body is not read to its end to keep it alive');
      const over = await send(py.http, `/v1/nodes/${checkpointNode}/api:execute`, { headers: { 'content-type': 'application/json' }, body: typed(OVER) });
      assertRefused(over, 413, 'typed Execute of 16 MiB + 1');
    });

    it('gRPC: a 16 MiB + 1 Struct input gets RESOURCE_EXHAUSTED; 15 MiB is answered', async () => {
      const big = 'a'.repeat(OVER);
      const refused = await grpcFailure({ s: big, k: 0 });
      assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED, refused.message);
      assert.match(refused.details, /larger than max/i, 'refused by the server on receipt');

      const ok = await execute({ s: big.slice(0, UNDER), k: 0 });
      assert.deepEqual(ok.output, { n: UNDER, back: '' });
    });

    it('a 15 MiB response arrives whole over REST and gRPC', async () => {
      const five = 5 * MiB;
      const r = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, { headers: { 'content-type': 'application/json' }, body: input(five + 20, 3) });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.bytes > UNDER && r.bytes < LIMIT, `${r.bytes} bytes`);
      const s = 'a'.repeat(five);
      const ok = await execute({ s, k: 3 });
      assert.equal(ok.output?.n, five);
      assert.equal(ok.output?.back, s.repeat(3));
    });

    it('a response over the limit (18 MiB from a 9 MiB request) gets 413 / RESOURCE_EXHAUSTED', async () => {
      const r = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, { headers: { 'content-type': 'application/json' }, body: input(9 * MiB, 2) });
      assertRefused(r, 413, 'REST Execute with an 18 MiB answer');
      assert.match(json(r.text).message, /response/);
      const err = await grpcFailure({ s: 'a'.repeat(9 * MiB), k: 2 });
      assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED, err.message);
      assert.match(err.details, /response/);
      // The instance is free again: the next call is served.
      assert.deepEqual((await execute({ s: 'ok', k: 1 })).output, { n: 2, back: 'ok' });
    });
  });

  describe('checkpoint Execute: the limit applies to what the caller sends and gets', () => {
    // Berth passes inputs and outputs to the worker as JSON, where '"' and '\\' take two bytes and
    // control characters six. The caller's message is what the limit is about, not that internal form.
    it('gRPC: a 9 MiB input of characters that JSON escapes is answered', async () => {
      const s = '"'.repeat(9 * MiB);
      const ok = await execute({ s, k: 0 });
      assert.deepEqual(ok.output, { n: s.length, back: '' });
    });

    it('gRPC: a 10 MiB output of characters that JSON escapes arrives whole', async () => {
      const s = '\\'.repeat(5 * MiB);
      const ok = await execute({ s, k: 2 });
      assert.equal(ok.output?.n, s.length);
      assert.equal(ok.output?.back, s + s);
    });
  });

  describe('node API (Docker node)', () => {
    const headers = () => ({ 'x-node-id': dockerNode, 'content-type': 'application/octet-stream' });

    it('answers a declared 16 MiB + 1 upload with 413 and code 8; the instance never sees it', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      const withheld = await send(dk.nodeApi, '/echo?tag=withheld', { headers: headers(), body: { size: OVER }, withhold: true });
      assertRefused(withheld, 413, 'a withheld 16 MiB + 1 upload');
      assert.equal(withheld.sent, 0);
      // A client that sends its whole body without waiting still reads the answer.
      const full = await send(dk.nodeApi, '/echo?tag=declared', { headers: headers(), body: { size: OVER } });
      assertRefused(full, 413, 'a declared 16 MiB + 1 upload sent in full');
      const got = await seen();
      assert.equal(got.withheld, undefined, JSON.stringify(got));
      assert.equal(got.declared, undefined, JSON.stringify(got));
    });

    it('answers Expect: 100-continue for a 16 MiB + 1 upload with 413, not 100 Continue; 15 MiB continues', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      const r = await send(dk.nodeApi, '/echo?tag=expect', { headers: headers(), body: { size: OVER }, expectContinue: true });
      assertRefused(r, 413, 'an upload with Expect: 100-continue');
      assert.equal(r.continued, false, 'the client was told to send the 16 MiB + 1 body');
      assert.equal(r.sent, 0);
      const ok = await send(dk.nodeApi, '/echo?tag=expect-ok', { headers: headers(), body: { size: UNDER }, expectContinue: true });
      assert.equal(ok.status, 200, JSON.stringify({ ...ok, text: '' }));
      assert.equal(ok.continued, true);
      assert.equal(ok.sha, digestOf({ size: UNDER }));
      assert.equal((await seen()).expect, undefined);
    });

    it('refuses an undeclared (chunked) upload once it passes the limit', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      const r = await send(dk.nodeApi, '/echo?tag=chunked', { headers: headers(), body: { size: 64 * MiB }, declare: false });
      const how = assertRefusedOrReset(r, 'a chunked 64 MiB upload');
      assert.ok(r.sent < 64 * MiB, `the whole upload was sent: ${JSON.stringify(r)}`);
      console.log(`chunked upload over the limit at the node API: ${how === 'status' ? `413 after ${mb(r.sent)} sent` : `connection reset (${r.error}) after ${mb(r.sent)} sent`}`);
      const got = (await seen()).chunked;
      assert.ok(got && got.bytes <= LIMIT && got.completed === 0, `the instance got ${JSON.stringify(got)}`);
    });

    it('echoes 15 MiB and exactly 16 MiB back whole, declared or chunked', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      for (const [size, declare] of [[UNDER, true], [UNDER, false], [LIMIT, true], [LIMIT, false]] as const) {
        const r = await send(dk.nodeApi, '/echo?tag=whole', { headers: headers(), body: { size }, declare });
        assert.equal(r.status, 200, `${size} bytes, declare ${declare}: ${JSON.stringify(r)}`);
        assert.equal(r.error, undefined);
        assert.equal(r.bytes, size);
        assert.equal(r.sha, digestOf({ size }));
      }
    });

    it('h2c: a declared upload over the limit gets 413 with nothing read; 15 MiB is echoed whole', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      const session = http2.connect(dk.nodeApi);
      session.on('error', () => undefined);
      try {
        const exchange = (size: number, declare: boolean, withhold: boolean) =>
          new Promise<{ status?: number; bytes: number; sha: string; text: string; error?: string; sent: number }>((resolve) => {
            const h: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': '/echo?tag=h2', 'x-node-id': dockerNode };
            if (declare) h['content-length'] = String(size);
            const stream = session.request(h);
            const hash = createHash('sha256');
            const kept: Buffer[] = [];
            let status: number | undefined;
            let bytes = 0;
            let sent = 0;
            let settled = false;
            const done = (error?: string) => {
              if (settled) return;
              settled = true;
              resolve({ status, bytes, sha: hash.digest('hex'), text: Buffer.concat(kept).toString('utf8'), error, sent });
            };
            stream.on('response', (hs) => (status = Number(hs[':status'])));
            stream.on('data', (c: Buffer) => {
              bytes += c.length;
              hash.update(c);
              if (bytes <= 64 * 1024) kept.push(c);
            });
            stream.on('end', () => done());
            stream.on('error', (err) => done((err as NodeJS.ErrnoException).code ?? err.message));
            stream.on('close', () => done(stream.rstCode ? `rst ${stream.rstCode}` : undefined));
            if (withhold) return;
            const chunks = chunksOf({ size });
            const pump = (): void => {
              for (;;) {
                if (settled || stream.destroyed || status !== undefined) return;
                const next = chunks.next();
                if (next.done) {
                  stream.end();
                  return;
                }
                sent += next.value.length;
                if (!stream.write(next.value)) {
                  stream.once('drain', pump);
                  return;
                }
              }
            };
            pump();
          });
        const withheld = await exchange(OVER, true, true);
        assert.equal(withheld.status, 413, JSON.stringify(withheld));
        assert.equal(json(withheld.text)?.code, grpc.status.RESOURCE_EXHAUSTED, withheld.text);
        const chunked = await exchange(32 * MiB, false, false);
        if (chunked.status !== undefined) {
          assert.equal(chunked.status, 413, JSON.stringify(chunked));
          assert.equal(json(chunked.text)?.code, grpc.status.RESOURCE_EXHAUSTED, chunked.text);
        } else assert.ok(chunked.error && chunked.sent > LIMIT, JSON.stringify(chunked));
        assert.ok(chunked.sent < 32 * MiB, `the whole upload was sent: ${JSON.stringify({ ...chunked, text: '' })}`);
        const whole = await exchange(UNDER, true, false);
        assert.equal(whole.status, 200, JSON.stringify({ ...whole, text: '' }));
        assert.equal(whole.bytes, UNDER);
        assert.equal(whole.sha, digestOf({ size: UNDER }));
      } finally {
        session.destroy();
      }
    });

    it('refuses a response over the limit: 502 with code 8 before its head, a cut connection after', async (t) => {
      if (!docker) return t.skip('no Docker engine');
      const get = (q: string) => send(dk.nodeApi, `/bytes?${q}`, { method: 'GET', headers: { 'x-node-id': dockerNode } });
      const declared = await get(`n=${OVER}`);
      assertRefused(declared, 502, 'a declared 16 MiB + 1 response');
      assert.equal(declared.bytes < 1024, true);

      const chunked = await get(`n=${OVER}&chunked=1`);
      // The 200 head was relayed before the body passed the limit: the only honest end is a broken one.
      assert.equal(chunked.status, 200, JSON.stringify(chunked));
      assert.ok(chunked.error, `a truncated body looked complete: ${JSON.stringify({ ...chunked, text: '' })}`);
      assert.ok(chunked.bytes <= LIMIT, `${chunked.bytes} bytes relayed`);

      for (const q of [`n=${UNDER}`, `n=${UNDER}&chunked=1`, `n=${LIMIT}`, `n=${LIMIT}&chunked=1`]) {
        const r = await get(q);
        assert.equal(r.status, 200, `${q}: ${JSON.stringify({ ...r, text: '' })}`);
        assert.equal(r.error, undefined, q);
        assert.equal(r.bytes, Number(/n=(\d+)/.exec(q)![1]), q);
      }
      // The node is still fine.
      const echo = await send(dk.nodeApi, '/echo?tag=after', { headers: headers(), body: { size: 3 } });
      assert.equal(echo.status, 200);
    });
  });

  // Last, so that a server process lost on this path (its exit is printed with its stderr) fails only these.
  describe('REST bodies without a declared length', () => {
    const chunked = (size: number, prefix: string, suffix: string): SendOptions => ({
      headers: { 'content-type': 'application/json' },
      body: { size, prefix, fill: LETTERS, suffix },
      declare: false,
    });

    it('control plane: refused with 413 and code 8 as soon as the body passes 16 MiB', async () => {
      const r = await send(main.http, '/v1/folders', chunked(64 * MiB, '{"name":"', '"}'));
      assertRefused(r, 413, 'a chunked POST /v1/folders');
      assert.ok(r.sent < 64 * MiB, `the whole 64 MiB was sent (${JSON.stringify({ ...r, text: '' })})`);
      assert.equal((await rest(main.http, 'GET', '/v1/folders/default')).status, 200, 'the server still answers');
    });

    it('REST and typed Execute: refused with 413 and code 8; a 15 MiB chunked request is answered', async () => {
      const over = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, chunked(OVER, '{"input":{"s":"', '","k":0}}'));
      assertRefused(over, 413, 'a chunked REST Execute of 16 MiB + 1');
      const typed = await send(py.http, `/v1/nodes/${checkpointNode}/api:execute`, chunked(OVER, '{"s":"', '","k":0}'));
      assertRefused(typed, 413, 'a chunked typed Execute of 16 MiB + 1');
      const ok = await send(py.http, `/v1/nodes/${checkpointNode}:execute`, chunked(UNDER, '{"input":{"s":"', '","k":0}}'));
      assert.equal(ok.status, 200, ok.text.slice(0, 300));
      assert.equal(json(ok.text)?.output?.n, UNDER - Buffer.byteLength('{"input":{"s":"","k":0}}'));
    });
  });
});
