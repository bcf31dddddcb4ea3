// The checkpoint worker (worker/berth_worker.py) on its own: capture a notebook into a blob, serve
// the blob over HTTP on loopback, and the errors of both modes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');
const WORKER = path.join(ROOT, 'worker', 'berth_worker.py');
const PYTHON = process.env.BERTH_PYTHON ?? 'python3';
/** The token the workers served here require, as Berth gives each instance its own. */
const TOKEN = 'worker-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const WORKER_ENV = { ...process.env, BERTH_WORKER_TOKEN: TOKEN };

let tmp = '';
let seq = 0;
const workers: Worker[] = [];

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-worker-'));
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface CaptureRun {
  result: any;
  blob: string;
  stdout: string;
  stderr: string;
  code: number | null;
  ms: number;
}

/** Runs `berth_worker.py capture` and parses its one JSON line. */
async function capture(cells: string[], served: number, extra: string[] = []): Promise<CaptureRun> {
  const n = ++seq;
  const cellsFile = path.join(tmp, `cells-${n}.json`);
  const blob = path.join(tmp, `blob-${n}.pkl`);
  fs.writeFileSync(cellsFile, JSON.stringify({ cells }));
  const started = Date.now();
  const proc = spawn(PYTHON, [WORKER, 'capture', '--cells', cellsFile, '--served', String(served), '--out', blob, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
  const lines = stdout.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `capture must print exactly one line on stdout, got:\n${stdout}\nstderr:\n${stderr}`);
  return { result: JSON.parse(lines[0]!), blob, stdout, stderr, code, ms: Date.now() - started };
}

async function captureOk(cells: string[], served: number, extra: string[] = []): Promise<CaptureRun> {
  const run = await capture(cells, served, extra);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.result.ok, true, JSON.stringify(run.result));
  return run;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Worker {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
}

/** Starts `berth_worker.py serve` on a free loopback port and waits for its listening line. */
async function serve(blob: string): Promise<Worker> {
  const port = await freePort();
  const proc = spawn(PYTHON, [WORKER, 'serve', '--blob', blob, '--port', String(port), '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: WORKER_ENV,
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not listen within 15 s:\n${stderr}`)), 15_000);
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes(`berth-worker listening on 127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((c) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${c} before listening:\n${stderr}`));
    });
  });
  const worker: Worker = {
    proc,
    port,
    stdout: () => stdout,
    exited,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
  workers.push(worker);
  return worker;
}

async function execute(w: Worker, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${w.port}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...AUTH },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
  return { status: res.status, json: JSON.parse(text) };
}

function lineCount(file: string): number {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).length;
}

describe('capture and serve', () => {
  it('restores a trained notebook without re-running the training', async () => {
    const marker = path.join(tmp, 'trained.txt');
    const cells = [
      [
        'import time',
        `with open(${JSON.stringify(marker)}, "a") as f:`,
        '    f.write("trained\\n")',
        'print("training...")',
        'time.sleep(1)',
        'weights = [0.5, 1.5]',
        'bias = 1.0',
      ].join('\n'),
      [
        'def predict(x):',
        '    return sum(weights) * x + bias',
        '',
        'class Scaler:',
        '    def __init__(self, k):',
        '        self.k = k',
        '    def apply(self, v):',
        '        return v * self.k',
        '',
        'scaler = Scaler(3)',
        'x = 1.0',
        'name = "a"',
      ].join('\n'),
      ['y = predict(x)', 'label = name.upper() + "!"', 'scaled = scaler.apply(x)', 'print("served", x)'].join('\n'),
    ];
    const run = await captureOk(cells, 2);
    assert.equal(lineCount(marker), 1);
    assert.match(run.stderr, /training\.\.\./, 'the cells print to stderr during capture');
    assert.ok(run.result.size > 0 && run.result.size === fs.statSync(run.blob).size);
    assert.match(run.result.python_version, /^3\.\d+\.\d+$/);
    const kinds = Object.fromEntries(run.result.variables.map((v: any) => [v.name, [v.kind, v.type_name]]));
    assert.deepEqual(kinds.time, ['module', 'time']);
    assert.deepEqual(kinds.predict, ['definition', 'function']);
    assert.deepEqual(kinds.Scaler, ['definition', 'class']);
    assert.deepEqual(kinds.scaler, ['value', 'Scaler']);
    assert.deepEqual(kinds.weights, ['value', 'list']);
    assert.equal(kinds.y, undefined, 'the served cell is only compiled at capture: it runs on calls');
    assert.equal(kinds.f, undefined, 'the closed file left by `with open(...) as f` is not captured');

    const [a, b] = await Promise.all([serve(run.blob), serve(run.blob)]);
    for (const w of [a!, b!]) {
      const health = await fetch(`http://127.0.0.1:${w.port}/healthz`, { headers: AUTH });
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const r = await execute(w, {
        inputs: { x: 2, name: 'bob' },
        input_types: { x: 'float', name: 'str' },
        outputs: [
          { name: 'y', type: 'float' },
          { name: 'label', type: 'str' },
          { name: 'scaled', type: 'float' },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json, { outputs: { y: 5, label: 'BOB!', scaled: 6 } });
    }
    assert.equal(lineCount(marker), 1, 'the training cell never runs again');
    assert.match(a!.stdout(), /served 2\.0/, "the cell's prints go to the worker's stdout");
    assert.equal(await a!.stop(), 0);
    assert.equal(await b!.stop(), 0);
  });

  it('keeps state between calls, each process from the captured state', async () => {
    const run = await captureOk(['counter = 0', 'counter = counter + 1\nseen = counter'], 1);
    const a = await serve(run.blob);
    const call = (w: Worker) => execute(w, { outputs: [{ name: 'seen', type: 'int' }] });
    for (const expected of [1, 2, 3]) {
      assert.deepEqual((await call(a)).json, { outputs: { seen: expected } });
    }
    const b = await serve(run.blob);
    assert.deepEqual((await call(b)).json, { outputs: { seen: 1 } });
    assert.deepEqual((await call(a)).json, { outputs: { seen: 4 } });
    const ran = await captureOk(['counter = 0', 'counter = counter + 1\nseen = counter'], 1, ['--run-served']);
    const c = await serve(ran.blob);
    assert.deepEqual((await call(c)).json, { outputs: { seen: 2 } }, 'with --run-served the capture ran the served cell once');
  });

  it('answers an exception in user code with its details and keeps serving', async () => {
    const run = await captureOk(
      [
        'def check(v):\n    if v < 0:\n        raise ValueError(f"negative: {v}")\n    return v * 2\nv = 1',
        'import math',
        'out = check(v)',
      ],
      2,
    );
    const w = await serve(run.blob);
    const body = (v: number) => ({ inputs: { v }, input_types: { v: 'int' }, outputs: [{ name: 'out', type: 'int' }] });
    const bad = await execute(w, body(-1));
    assert.equal(bad.status, 200);
    assert.equal(bad.json.error.kind, 'user');
    assert.equal(bad.json.error.error_name, 'ValueError');
    assert.equal(bad.json.error.error_message, 'negative: -1');
    const tb: string[] = bad.json.error.traceback;
    assert.ok(tb.some((l) => l.includes('File "<cell 2>", line 1')), tb.join('\n'));
    assert.ok(tb.some((l) => l.includes('File "<cell 0>", line 3, in check')), tb.join('\n'));
    assert.ok(tb.some((l) => l.includes('raise ValueError')), 'source lines are shown');
    assert.ok(!tb.some((l) => l.includes('berth_worker')), 'worker frames are trimmed');
    assert.equal(tb[tb.length - 1], 'ValueError: negative: -1');
    const good = await execute(w, body(3));
    assert.deepEqual(good, { status: 200, json: { outputs: { out: 6 } } });
  });

  it('rejects inputs and outputs that do not match their types with 400', async () => {
    const run = await captureOk(['x = 1.0\nname = "a"', 'y = x * 2\nlabel = name'], 1);
    const w = await serve(run.blob);
    const badInput = await execute(w, { inputs: { x: 'abc' }, input_types: { x: 'float' }, outputs: [] });
    assert.equal(badInput.status, 400);
    assert.equal(badInput.json.error.kind, 'input');
    assert.equal(badInput.json.error.variable, 'x');
    assert.match(badInput.json.error.error_message, /expected a number/);

    const boolAsInt = await execute(w, { inputs: { x: true }, input_types: { x: 'int' }, outputs: [] });
    assert.equal(boolAsInt.status, 400);
    assert.equal(boolAsInt.json.error.variable, 'x');

    const missingInput = await execute(w, { inputs: {}, input_types: { x: 'float' }, outputs: [] });
    assert.equal(missingInput.status, 400);
    assert.equal(missingInput.json.error.variable, 'x');

    const missingOutput = await execute(w, { inputs: { x: 1 }, input_types: { x: 'float' }, outputs: [{ name: 'nope', type: 'int' }] });
    assert.equal(missingOutput.status, 400);
    assert.equal(missingOutput.json.error.kind, 'output');
    assert.equal(missingOutput.json.error.variable, 'nope');

    const wrongOutput = await execute(w, { inputs: { x: 1 }, input_types: { x: 'float' }, outputs: [{ name: 'label', type: 'int' }] });
    assert.equal(wrongOutput.status, 400);
    assert.equal(wrongOutput.json.error.kind, 'output');
    assert.equal(wrongOutput.json.error.variable, 'label');

    const unknownType = await execute(w, { inputs: { x: 1 }, input_types: { x: 'decimal' }, outputs: [] });
    assert.equal(unknownType.status, 400);
    assert.equal(unknownType.json.error.kind, 'request');

    const notJson = await execute(w, '{not json');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.kind, 'request');

    // An integral JSON number is an int; the worker still serves after the 400s.
    const ok = await execute(w, { inputs: { x: 4.0, name: 'z' }, input_types: { x: 'int', name: 'str' }, outputs: [{ name: 'y', type: 'int' }, { name: 'label', type: 'str' }] });
    assert.deepEqual(ok, { status: 200, json: { outputs: { y: 8, label: 'z' } } });
  });

  it('round-trips bytes, list[bytes], typed lists, dicts and lists', async () => {
    const run = await captureOk(
      [
        'import hashlib\ndata = b"seed"\nchunks = [b"a"]\nitems = [1]\nweights = [0.5]\nflags = [True]\ntags = ["t"]',
        [
          'digest = hashlib.sha256(data).digest()',
          'reversed_chunks = [c[::-1] for c in chunks]',
          'sizes = [len(c) for c in chunks]',
          'halves = [w / 2 for w in weights]',
          'negated = [not f for f in flags]',
          'meta = {"n": len(chunks), "tags": tags, "nested": {"ok": True, "none": None}}',
          'backwards = list(reversed(items))',
          'pair = (1, "two")',
        ].join('\n'),
      ],
      1,
    );
    const w = await serve(run.blob);
    const data = Buffer.from([0, 1, 2, 254, 255]);
    const chunks = [Buffer.from('hello'), Buffer.from([0xff, 0x00, 0x10])];
    const r = await execute(w, {
      inputs: {
        data: data.toString('base64'),
        chunks: chunks.map((c) => c.toString('base64')),
        items: [1, 'two', { three: 3 }, [4]],
        weights: [1, 2.5],
        flags: [true, false],
        tags: ['x', 'y'],
      },
      input_types: { data: 'bytes', chunks: 'list[bytes]', items: 'list', weights: 'list[float]', flags: 'list[bool]', tags: 'list[str]' },
      outputs: [
        { name: 'digest', type: 'bytes' },
        { name: 'reversed_chunks', type: 'list[bytes]' },
        { name: 'sizes', type: 'list[int]' },
        { name: 'halves', type: 'list[float]' },
        { name: 'negated', type: 'list[bool]' },
        { name: 'meta', type: 'dict' },
        { name: 'backwards', type: 'list' },
        { name: 'pair', type: 'list' },
        { name: 'data', type: 'bytes' },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const out = r.json.outputs;
    assert.equal(out.digest, createHash('sha256').update(data).digest('base64'));
    assert.deepEqual(
      out.reversed_chunks.map((s: string) => Buffer.from(s, 'base64')),
      chunks.map((c) => Buffer.from(c).reverse()),
    );
    assert.deepEqual(out.sizes, [5, 3]);
    assert.deepEqual(out.halves, [0.5, 1.25]);
    assert.deepEqual(out.negated, [false, true]);
    assert.deepEqual(out.meta, { n: 2, tags: ['x', 'y'], nested: { ok: true, none: null } });
    assert.deepEqual(out.backwards, [[4], { three: 3 }, 'two', 1]);
    assert.deepEqual(out.pair, [1, 'two']);
    assert.equal(out.data, data.toString('base64'));

    const badItem = await execute(w, { inputs: { chunks: ['aGk=', 7] }, input_types: { chunks: 'list[bytes]' }, outputs: [] });
    assert.equal(badItem.status, 400);
    assert.equal(badItem.json.error.variable, 'chunks');
    assert.match(badItem.json.error.error_message, /item 1/);
  });

  it('serves another keep-alive connection while one stays open', async () => {
    const run = await captureOk(['x = 1'], 0);
    const w = await serve(run.blob);
    const idle = net.connect(w.port, '127.0.0.1');
    await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
    const first = new Promise<string>((resolve) => idle.once('data', (d) => resolve(d.toString())));
    idle.write(`GET /healthz HTTP/1.1\r\nHost: worker\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    assert.match(await first, /^HTTP\/1\.1 200/);
    // `idle` stays open with keep-alive; a second connection must not wait for it.
    const started = Date.now();
    const res = await fetch(`http://127.0.0.1:${w.port}/healthz`, { headers: AUTH });
    assert.equal(res.status, 200);
    await res.text();
    assert.ok(Date.now() - started < 2000);
    idle.destroy();
  });

  it('finishes the current call on SIGTERM, then exits 0', async () => {
    const run = await captureOk(['import time\ndelay = 0', 'time.sleep(delay)\ndone = True'], 1);
    const w = await serve(run.blob);
    const call = execute(w, { inputs: { delay: 1 }, input_types: { delay: 'float' }, outputs: [{ name: 'done', type: 'bool' }] });
    await new Promise((r) => setTimeout(r, 300));
    w.proc.kill('SIGTERM');
    assert.deepEqual(await call, { status: 200, json: { outputs: { done: true } } });
    assert.equal(await w.exited, 0);
  });
});

describe('the worker token', () => {
  it('answers only requests that carry its token: 401 without one, 403 with another', async () => {
    const run = await captureOk(['x = 1', 'y = x + 1'], 1);
    const w = await serve(run.blob);
    const call = { inputs: { x: 2 }, input_types: { x: 'int' }, outputs: [{ name: 'y', type: 'int' }] };
    const post = (headers: Record<string, string>) =>
      fetch(`http://127.0.0.1:${w.port}/execute`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(call) });
    const refusals: Array<[Record<string, string>, number]> = [
      [{}, 401],
      [{ authorization: 'Basic d29ya2VyOnRva2Vu' }, 401],
      [{ authorization: 'Bearer ' }, 401],
      [{ authorization: `Bearer ${TOKEN}x` }, 403],
      [{ authorization: 'Bearer another-instance-token' }, 403],
    ];
    for (const [headers, status] of refusals) {
      const res = await post(headers);
      assert.equal(res.status, status, JSON.stringify(headers));
      const body = (await res.json()) as { outputs?: unknown };
      assert.equal(body.outputs, undefined);
      assert.doesNotMatch(JSON.stringify(body), new RegExp(TOKEN));
    }
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Array<Record<string, string>>) {
      const health = await fetch(`http://127.0.0.1:${w.port}/healthz`, { headers });
      assert.ok(health.status === 401 || health.status === 403);
      await health.text();
    }
    // The refused calls ran nothing: the first call with the token is the first to run the cell.
    assert.deepEqual((await execute(w, call)).json, { outputs: { y: 3 } });
  });

  it("keeps the token out of the cells' environment", async () => {
    const run = await captureOk(['import os', 'seen = os.environ.get("BERTH_WORKER_TOKEN", "")'], 1);
    const w = await serve(run.blob);
    assert.deepEqual((await execute(w, { inputs: {}, input_types: {}, outputs: [{ name: 'seen', type: 'str' }] })).json, { outputs: { seen: '' } });
  });

  it('refuses to serve without a token', async () => {
    const run = await captureOk(['x = 1'], 0);
    const env = { ...process.env };
    delete env.BERTH_WORKER_TOKEN;
    const proc = spawn(PYTHON, [WORKER, 'serve', '--blob', run.blob, '--port', String(await freePort())], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(stderr, /BERTH_WORKER_TOKEN is not set/);
    assert.doesNotMatch(stderr, /listening/);
  });
});

describe('restore', () => {
  it('re-adds sys.path entries, and fails clearly when an import is gone', async () => {
    const lib = path.join(tmp, 'lib');
    fs.mkdirSync(lib);
    fs.writeFileSync(path.join(lib, 'berth_helper_mod.py'), 'FACTOR = 7\n');
    const run = await captureOk(
      [`import sys\nsys.path.append(${JSON.stringify(lib)})\nimport berth_helper_mod\nx = 1`, 'y = x * berth_helper_mod.FACTOR'],
      1,
    );
    const w = await serve(run.blob);
    const r = await execute(w, { inputs: { x: 2 }, input_types: { x: 'int' }, outputs: [{ name: 'y', type: 'int' }] });
    assert.deepEqual(r.json, { outputs: { y: 14 } });

    fs.rmSync(lib, { recursive: true });
    const port = await freePort();
    const proc = spawn(PYTHON, [WORKER, 'serve', '--blob', run.blob, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'], env: WORKER_ENV });
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
    assert.equal(code, 3);
    assert.match(stderr, /berth-worker: restore failed: .*berth_helper_mod/);
    assert.doesNotMatch(stderr, /listening/);
  });
});

describe('capture failures', () => {
  it('names an uncapturable global and its type', async () => {
    const run = await capture(['import socket\nconn = socket.socket()\nok = 1', 'pass'], 1);
    assert.equal(run.code, 0);
    assert.equal(run.result.ok, false);
    const e = run.result.error;
    assert.equal(e.kind, 'uncapturable');
    assert.equal(e.variable, 'conn');
    assert.equal(e.type_name, 'socket.socket');
    assert.match(e.error_message, /^variable "conn" of type socket\.socket cannot be captured: cannot pickle 'socket' object/);
    assert.equal(fs.existsSync(run.blob), false);
  });

  it('reports a syntax error with its cell index', async () => {
    const run = await capture(['x = 1', 'def broken(:\n    pass', 'y = 2'], 2);
    assert.equal(run.code, 0);
    assert.equal(run.result.ok, false);
    assert.equal(run.result.error.kind, 'syntax');
    assert.equal(run.result.error.cell_index, 1);
    assert.equal(run.result.error.error_name, 'SyntaxError');
    assert.ok(run.result.error.traceback.some((l: string) => l.includes('<cell 1>')));
  });

  it('reports an exception with its cell index and a trimmed traceback', async () => {
    const run = await capture(['x = 1', 'print("cell output")\ny = x / 0', 'z = 2'], 2);
    assert.equal(run.code, 0);
    assert.equal(run.result.ok, false);
    const e = run.result.error;
    assert.equal(e.kind, 'exception');
    assert.equal(e.cell_index, 1);
    assert.equal(e.error_name, 'ZeroDivisionError');
    assert.equal(e.error_message, 'division by zero');
    assert.equal(e.traceback[0], 'Traceback (most recent call last):');
    assert.equal(e.traceback[1], '  File "<cell 1>", line 2, in <module>');
    assert.ok(!e.traceback.some((l: string) => l.includes('berth_worker')));
  });

  it('stops a cell that runs past --timeout', async () => {
    const run = await capture(['import time\ntime.sleep(30)', 'pass'], 1, ['--timeout', '1']);
    assert.equal(run.code, 0);
    assert.equal(run.result.ok, false);
    assert.equal(run.result.error.kind, 'timeout');
    assert.equal(run.result.error.cell_index, 0);
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
  });

  it('stops a cell that keeps catching the timeout', async () => {
    const run = await capture(['import time\nwhile True:\n    try:\n        time.sleep(5)\n    except BaseException:\n        pass', 'pass'], 1, ['--timeout', '1']);
    assert.equal(run.result.error.kind, 'timeout');
    assert.ok(run.ms < 10_000, `took ${run.ms} ms`);
  });

  it('stops a cell that exceeds --memory-mb', async () => {
    const run = await capture(['data = bytearray(2 * 1024 ** 3)', 'pass'], 1, ['--memory-mb', '256']);
    assert.equal(run.code, 0);
    assert.equal(run.result.ok, false);
    assert.equal(run.result.error.kind, 'memory');
    assert.equal(run.result.error.cell_index, 0);
  });
});
