import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import { FolderServiceClient, ListFoldersRequest } from '../../gen/berth/v1/folder_service';
import { grpcHealth } from '../helpers/health';
import { rest } from '../helpers/rest';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'berth.js');

/**
 * The environment of a user's shell without any BERTH_* setting of this one,
 * so that the database is the default file under --data-dir. The process
 * runtime and a cluster id of its own keep it away from containers that other
 * Berth processes on this machine may run.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
  return { ...env, BERTH_LOG_LEVEL: 'info', BERTH_RUNTIME: 'process', BERTH_CLUSTER_ID: `serve-test-${process.pid}` };
}

interface Run {
  proc: ChildProcess;
  /** Every JSON line written to stdout so far. */
  logs: Array<Record<string, any>>;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function run(args: string[]): Run {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  let err = '';
  const logs: Array<Record<string, any>> = [];
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
    out += `${line}\n`;
    try {
      logs.push(JSON.parse(line) as Record<string, any>);
    } catch {
      // not a log line (help text)
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, logs, stdout: () => out, stderr: () => err, exited };
}

/** Resolves the first log line with this message, or rejects when the process exits or time runs out. */
function logLine(r: Run, msg: string, timeoutMs = 20_000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`no "${msg}" log line within ${timeoutMs} ms\nstdout:\n${r.stdout()}\nstderr:\n${r.stderr()}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      const line = r.logs.find((l) => l.msg === msg);
      if (!line) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve(line);
    }, 20);
    void r.exited.then(({ code, signal }) => {
      // A last check: the line may have come with the exit.
      setTimeout(() => {
        if (r.logs.some((l) => l.msg === msg)) return;
        clearInterval(poll);
        clearTimeout(timer);
        reject(new Error(`berth exited (${code ?? signal}) before "${msg}"\nstdout:\n${r.stdout()}\nstderr:\n${r.stderr()}`));
      }, 50);
    });
  });
}

async function exitWithin(r: Run, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms later\nstdout:\n${r.stdout()}\nstderr:\n${r.stderr()}`)), ms);
  });
  try {
    return await Promise.race([r.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

describe('berth serve, run as a user runs it', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-serve-'));
  });
  after(async () => {
    for (const proc of started) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await new Promise((resolve) => proc.once('exit', resolve));
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const serveArgs = () => ['serve', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir];

  it('serves on ephemeral ports, stops cleanly on SIGTERM and keeps its data across a restart', async () => {
    const first = run(serveArgs());
    const serving = await logLine(first, 'berth is serving');
    assert.equal(serving.level, 30, 'an info line');
    assert.equal(serving.host, '127.0.0.1');
    const { grpcPort, httpPort } = serving as { grpcPort: number; httpPort: number };
    for (const port of [grpcPort, httpPort]) assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `port ${port}`);
    assert.notEqual(grpcPort, httpPort);
    if ('nodeApiPort' in serving) {
      assert.ok(serving.nodeApiPort > 0 && ![grpcPort, httpPort].includes(serving.nodeApiPort), `node API port ${serving.nodeApiPort}`);
      assert.ok(await tcpConnects(serving.nodeApiPort), 'the node API port takes connections');
    }
    assert.ok(first.logs.every((l) => typeof l.level === 'number' && typeof l.time === 'string' && typeof l.msg === 'string'), 'every stdout line is a JSON log line');
    assert.ok(existsSync(path.join(dataDir, 'berth.sqlite')), 'the default database is a file under --data-dir');

    const base = `http://127.0.0.1:${httpPort}`;
    // The first start made a server admin and wrote its key, readable by Berth's user only.
    const keyFile = path.join(dataDir, 'admin.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'admin.key is mode 0600');
    const auth = { authorization: `Bearer ${readFileSync(keyFile, 'utf8').trim()}` };
    const keyLine = first.logs.find((l) => l.msg?.startsWith('created the server admin'));
    assert.equal(keyLine?.keyFile, keyFile, 'the log names the key file');
    assert.ok(!first.logs.some((l) => JSON.stringify(l).includes(auth.authorization.slice(7))), 'no log line holds the key');
    const keyless = await rest(base, 'GET', '/v1/folders');
    assert.equal(keyless.status, 401, JSON.stringify(keyless.body));
    assert.equal(keyless.body.code, 16);
    // The gRPC listener and the node API refuse keyless calls too, before looking up what they name.
    const folders = new FolderServiceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    const grpcKeyless = await new Promise<ServiceError | null>((resolve) => folders.listFolders(ListFoldersRequest.fromPartial({}), (err) => resolve(err)));
    folders.close();
    assert.equal(grpcKeyless?.code, Code.UNAUTHENTICATED, grpcKeyless?.details);
    const nodeApi = `127.0.0.1:${serving.nodeApiPort}`;
    const nodeApiKeyless = await fetch(`http://${nodeApi}/`, { headers: { 'x-node-id': 'nd000000000000000000' } });
    assert.equal(nodeApiKeyless.status, 401, await nodeApiKeyless.text());
    const raw = new Client(nodeApi, credentials.createInsecure());
    const md = new Metadata();
    md.set('x-node-id', 'nd000000000000000000');
    const nodeApiGrpcKeyless = await new Promise<ServiceError | null>((resolve) =>
      raw.makeUnaryRequest('/any.Service/Method', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, (err) => resolve(err)),
    );
    raw.close();
    assert.equal(nodeApiGrpcKeyless?.code, Code.UNAUTHENTICATED, nodeApiGrpcKeyless?.details);
    const healthz = await rest(base, 'GET', '/healthz');
    assert.equal(healthz.status, 200);
    assert.deepEqual(healthz.body, { status: 'ok' });
    const readyz = await rest(base, 'GET', '/readyz');
    assert.equal(readyz.status, 200);
    assert.deepEqual(readyz.body, { status: 'ready' });
    assert.equal(await grpcHealth(`127.0.0.1:${grpcPort}`, ''), 'SERVING');
    assert.equal(await grpcHealth(`127.0.0.1:${grpcPort}`, 'berth.v1.NodeService'), 'SERVING');

    const created = await rest(base, 'POST', '/v1/folders', { name: 'kept', description: 'survives restarts', labels: { env: 'dev' } }, auth);
    assert.equal(created.status, 200, JSON.stringify(created.body));

    const stopAt = Date.now();
    first.proc.kill('SIGTERM');
    const exit = await exitWithin(first, 5000);
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${first.stderr()}`);
    assert.ok(Date.now() - stopAt < 5000);
    const messages = first.logs.map((l) => l.msg);
    assert.ok(messages.includes('shutting down'), messages.join(' | '));
    assert.equal(messages[messages.length - 1], 'stopped', 'the last word is that it stopped');
    assert.equal(first.stderr(), '', 'nothing on stderr');
    assert.equal(await tcpConnects(httpPort), false, 'the HTTP port is closed');

    // Same data dir, new ports: the folder is still there.
    const second = run(serveArgs());
    const again = await logLine(second, 'berth is serving');
    const base2 = `http://127.0.0.1:${again.httpPort}`;
    const listed = await rest(base2, 'GET', `/v1/folders?filter=${encodeURIComponent('name = "kept"')}`, undefined, auth);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.folders, [created.body]);
    assert.equal((await rest(base2, 'GET', `/v1/folders/${created.body.id}`, undefined, auth)).body.description, 'survives restarts');
    assert.ok(!second.logs.some((l) => l.msg?.startsWith('created the server admin')), 'the second start makes no new admin');
    // The migrations ran once: the second start found the schema up to date.
    assert.ok(!second.logs.some((l) => l.msg === 'database migrated'), 'no migration on the second start');
    assert.ok(first.logs.some((l) => l.msg === 'database migrated'), 'the first start migrated the new database');

    second.proc.kill('SIGINT');
    assert.deepEqual(await exitWithin(second, 5000), { code: 0, signal: null }, `stderr:\n${second.stderr()}`);
  });

  it('refuses a bad flag value with exit status 2 and a message naming the flag', async () => {
    for (const [flag, value] of [
      ['--grpc-port', 'abc'],
      ['--http-port', '70000'],
      ['--node-api-port', '-1'],
    ] as const) {
      const r = run(['serve', `${flag}=${value}`, '--data-dir', dataDir]);
      const exit = await exitWithin(r, 15_000);
      assert.equal(exit.code, 2, `${flag} ${value}: stdout ${r.stdout()} stderr ${r.stderr()}`);
      assert.match(r.stderr(), new RegExp(`${flag}\\b`), r.stderr());
      assert.ok(r.stderr().includes(JSON.stringify(value)), `the message quotes the value: ${r.stderr()}`);
      assert.match(r.stderr(), /Usage: berth serve/);
      assert.equal(r.logs.length, 0, 'it did not start');
    }
    const spaced = run(['serve', '--grpc-port', 'abc', '--data-dir', dataDir]);
    assert.equal((await exitWithin(spaced, 15_000)).code, 2);
    assert.match(spaced.stderr(), /--grpc-port must be a port number from 0 to 65535, not "abc"/);
    const unknown = run(['serve', '--grpc-prot', '1', '--data-dir', dataDir]);
    assert.equal((await exitWithin(unknown, 15_000)).code, 2);
    assert.match(unknown.stderr(), /--grpc-prot/);
  });

  it('refuses an unknown command with exit status 2, and prints help on request', async () => {
    const r = run(['nonsense']);
    const exit = await exitWithin(r, 15_000);
    assert.equal(exit.code, 2);
    assert.match(r.stderr(), /unknown command "nonsense"/);
    assert.match(r.stderr(), /serve/);
    assert.equal(r.stdout(), '');

    const help = run(['--help']);
    assert.equal((await exitWithin(help, 15_000)).code, 0);
    assert.match(help.stdout(), /Commands:\s+serve/);
    assert.match(help.stdout(), /--grpc-port/);
  });
});
