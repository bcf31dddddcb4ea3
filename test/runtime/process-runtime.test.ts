/**
 * ProcessRuntime with real processes: each instance is a small Node HTTP
 * server (this Node binary with an inline script), reached with fetch on the
 * loopback port the runtime picked. A Berth restart is played both by a new
 * runtime object and by a separate process that starts an instance and is
 * then killed with SIGKILL. Every process started here is killed and every
 * directory removed at the end. Only loopback traffic.
 *
 *   node --import tsx --test test/runtime/process-runtime.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ProcessStartError } from '../../src/runtime/process/errors';
import { tailFile } from '../../src/runtime/process/log-tail';
import { commandLine, expandPlaceholders } from '../../src/runtime/process/placeholders';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime';
import type { InstanceSpec, ObservedInstance } from '../../src/runtime/runtime';

const GiB = 1024 * 1024 * 1024;
const PRLIMIT = '/usr/bin/prlimit';

/**
 * The instance program. It prints one line to stdout and one to stderr,
 * serves /healthz, /whoami (its instance id, pid and arguments) and /mount
 * (the file named by its first argument), and stops on SIGTERM unless told
 * to ignore it.
 */
const SERVER_SCRIPT = `
const http = require('node:http');
const fs = require('node:fs');
const id = process.env.BERTH_INSTANCE_ID;
const args = process.argv.slice(1);
console.log('hello from ' + id);
console.error('warning from ' + id);
if (args.includes('--ignore-sigterm')) process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  if (req.url === '/whoami') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify({ instance: id, node: process.env.BERTH_NODE_ID, pid: process.pid, args, env: process.env }));
  }
  if (req.url === '/mount') return res.end(fs.readFileSync(args[0] || '/nonexistent', 'utf8'));
  res.statusCode = 404;
  res.end();
}).listen(Number(process.env.BERTH_PORT_8080), '127.0.0.1', () => console.log('listening on ' + process.env.BERTH_PORT_8080));
`;

interface WhoAmI {
  instance: string;
  node: string;
  pid: number;
  args: string[];
  env: Record<string, string>;
}

const root = mkdtempSync(join(tmpdir(), 'berth-process-runtime-'));
const stateDir = join(root, 'processes');
const logDir = join(root, 'logs');
const runId = `t${randomBytes(4).toString('hex')}`;
/** Every pid a test started, killed (with its group) at the end whatever happened. */
const started = new Set<number>();

after(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(root, { recursive: true, force: true });
});

function newRuntime(options: { runId?: string } = { runId }): ProcessRuntime {
  return new ProcessRuntime({ stateDir, logDir, ...options });
}

function spec(nodeId: string, instanceId: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    folderId: 'f-test',
    nodeId,
    instanceId,
    generation: 1,
    image: 'ignored:latest',
    command: [process.execPath, '-e', SERVER_SCRIPT],
    args: [],
    env: { GREETING: 'hi' },
    ports: [8080, 9090],
    cpu: 0,
    memoryBytes: 0,
    ...overrides,
  };
}

async function start(runtime: ProcessRuntime, s: InstanceSpec): Promise<ObservedInstance> {
  const instance = await runtime.startInstance(s);
  started.add(Number(instance.runtimeId));
  return instance;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function url(instance: ObservedInstance, path: string): string {
  const published = instance.ports[8080];
  assert.ok(published, `port 8080 of ${instance.instanceId} is published`);
  assert.equal(published.host, '127.0.0.1');
  return `http://${published.host}:${published.port}${path}`;
}

async function get(instance: ObservedInstance, path: string): Promise<Response> {
  return waitFor(`GET ${path} of ${instance.instanceId}`, async () => {
    const res = await fetch(url(instance, path), { signal: AbortSignal.timeout(2_000) });
    return res.ok ? res : undefined;
  });
}

async function whoami(instance: ObservedInstance): Promise<WhoAmI> {
  return (await (await get(instance, '/whoami')).json()) as WhoAmI;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function listed(runtime: ProcessRuntime, instanceId: string): Promise<ObservedInstance | undefined> {
  return (await runtime.listInstances()).find((i) => i.instanceId === instanceId);
}

describe('ProcessRuntime', () => {
  const runtime = newRuntime();

  test('ensureImage accepts any image: a process has none', async () => {
    await runtime.ensureImage('no-such-registry.invalid/nothing:never');
  });

  test('starts two instances, each reachable on its own loopback port, and lists both running', async () => {
    const [a, b] = await Promise.all([start(runtime, spec('n-two', 'in-a')), start(runtime, spec('n-two', 'in-b'))]);
    assert.ok(a && b);
    for (const instance of [a, b]) {
      assert.equal(instance.state, 'running');
      assert.equal(instance.nodeId, 'n-two');
      assert.equal(instance.generation, 1);
      assert.ok(instance.startedAt instanceof Date);
      assert.notEqual(instance.ports[8080]?.port, instance.ports[9090]?.port);
      assert.equal(await (await get(instance, '/healthz')).text(), 'ok');
      const me = await whoami(instance);
      assert.equal(me.instance, instance.instanceId);
      assert.equal(me.node, 'n-two');
      assert.equal(String(me.pid), instance.runtimeId);
      assert.equal(me.env.GREETING, 'hi');
      assert.equal(me.env.BERTH_PORT_8080, String(instance.ports[8080]?.port));
      assert.equal(me.env.BERTH_PORT_9090, String(instance.ports[9090]?.port));
      // Berth's own environment (the test runner's, here) does not leak into instances.
      assert.equal(me.env.NODE_TEST_CONTEXT, undefined);
    }
    assert.notEqual(a.ports[8080]?.port, b.ports[8080]?.port);

    const running = (await runtime.listInstances()).filter((i) => i.nodeId === 'n-two');
    assert.deepEqual(running.map((i) => i.instanceId).sort(), ['in-a', 'in-b']);
    for (const instance of running) {
      assert.equal(instance.state, 'running');
      assert.deepEqual(instance.ports, (instance.instanceId === 'in-a' ? a : b).ports);
    }

    const state = JSON.parse(readFileSync(join(stateDir, 'in-a.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(state.pid, Number(a.runtimeId));
    assert.equal(state.runId, runId);
    assert.deepEqual(state.ports, { 8080: a.ports[8080], 9090: a.ports[9090] });
  });

  test('starting a running instance again adopts it', async () => {
    const before = await whoami((await listed(runtime, 'in-a'))!);
    const again = await runtime.startInstance(spec('n-two', 'in-a'));
    assert.equal(again.state, 'running');
    assert.equal(again.runtimeId, String(before.pid));
    assert.equal((await whoami(again)).pid, before.pid);
  });

  test('a new runtime on the same state directory (a Berth restart) lists and adopts the instances', async () => {
    const restarted = newRuntime();
    const seen = (await restarted.listInstances()).filter((i) => i.nodeId === 'n-two');
    assert.deepEqual(seen.map((i) => [i.instanceId, i.state]).sort(), [
      ['in-a', 'running'],
      ['in-b', 'running'],
    ]);
    const original = await listed(runtime, 'in-b');
    const adopted = await restarted.startInstance(spec('n-two', 'in-b'));
    assert.equal(adopted.runtimeId, original?.runtimeId);
    assert.deepEqual(adopted.ports, original?.ports);

    // A runtime of another run does not see them.
    assert.equal((await newRuntime({ runId: 'another-run' }).listInstances()).length, 0);
  });

  test('tailLogs returns what the instance printed on stdout and stderr', async () => {
    const logs = await waitFor('the instance output', async () => {
      const text = await runtime.tailLogs('in-a', 10);
      return text.includes('listening on') ? text : undefined;
    });
    assert.match(logs, /^hello from in-a$/m);
    assert.match(logs, /^warning from in-a$/m);
    const last = await runtime.tailLogs('in-a', 1);
    assert.equal(last.trim().split('\n').length, 1);
    assert.match(last, /listening on \d+/);
    assert.equal(await runtime.tailLogs('in-unknown', 10), '');
  });

  test('a killed process is reported exited, and starting it again replaces it', async () => {
    const a = (await listed(runtime, 'in-a'))!;
    const b = (await listed(runtime, 'in-b'))!;
    process.kill(Number(a.runtimeId), 'SIGKILL');
    process.kill(Number(b.runtimeId), 'SIGKILL');

    // The runtime that spawned in-a saw it die and knows how.
    const exitedA = await waitFor('in-a to be reported exited', async () => {
      const found = await listed(runtime, 'in-a');
      return found?.state === 'exited' && found.exitReason !== 'the process is gone' ? found : undefined;
    });
    assert.equal(exitedA.exitReason, 'killed by SIGKILL');
    assert.equal(exitedA.exitCode, 137);
    assert.equal(exitedA.runtimeId, a.runtimeId);

    // A restarted Berth only sees that the process is gone.
    const restarted = newRuntime();
    const exitedB = await waitFor('in-b to be reported exited', async () => {
      const found = await listed(restarted, 'in-b');
      return found?.state === 'exited' ? found : undefined;
    });
    assert.equal(exitedB.exitReason, 'the process is gone');
    assert.equal(exitedB.exitCode, undefined);

    const replaced = await start(restarted, spec('n-two', 'in-b'));
    assert.equal(replaced.state, 'running');
    assert.notEqual(replaced.runtimeId, b.runtimeId);
    assert.equal((await whoami(replaced)).instance, 'in-b');
  });

  test('an instance outlives a Berth killed with SIGKILL and is adopted by the next one', async () => {
    // A separate Berth-like process starts the instance, reports it and is then killed.
    const starter = join(root, 'starter.ts');
    writeFileSync(
      starter,
      `import { ProcessRuntime } from ${JSON.stringify(join(__dirname, '../../src/runtime/process/process-runtime'))};
const runtime = new ProcessRuntime({ stateDir: ${JSON.stringify(stateDir)}, logDir: ${JSON.stringify(logDir)}, runId: ${JSON.stringify(runId)} });
const spec = JSON.parse(process.argv[2] ?? '{}');
runtime.startInstance(spec).then((instance) => { console.log(JSON.stringify(instance)); setInterval(() => {}, 1000); });
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', starter, JSON.stringify(spec('n-survivor', 'in-survivor'))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const instance = JSON.parse(line.toString()) as ObservedInstance;
    started.add(Number(instance.runtimeId));
    child.kill('SIGKILL');
    await once(child, 'exit');

    assert.equal((await whoami(instance)).instance, 'in-survivor');
    const listedAfter = await listed(runtime, 'in-survivor');
    assert.equal(listedAfter?.state, 'running');
    assert.equal(listedAfter?.runtimeId, instance.runtimeId);
    const adopted = await runtime.startInstance(spec('n-survivor', 'in-survivor'));
    assert.equal(adopted.runtimeId, instance.runtimeId);
    await runtime.removeInstance('in-survivor');
    const pid = Number(instance.runtimeId);
    await waitFor('the adopted process to be gone', async () => (alive(pid) ? undefined : true));
    assert.equal(await listed(runtime, 'in-survivor'), undefined);
  });

  test('removeInstance stops the process, removes its state, and is idempotent', async () => {
    const b = (await listed(runtime, 'in-b'))!;
    const pid = Number(b.runtimeId);
    assert.ok(alive(pid));
    await runtime.removeInstance('in-b', 5);
    await waitFor('the process to be gone', async () => (alive(pid) ? undefined : true));
    assert.equal(existsSync(join(stateDir, 'in-b.json')), false);
    assert.equal(await listed(runtime, 'in-b'), undefined);
    assert.equal(await runtime.tailLogs('in-b', 10), '');
    await runtime.removeInstance('in-b', 5);
    await runtime.removeInstance('in-never-existed');
    // An exited instance is removed just the same.
    await runtime.removeInstance('in-a');
    assert.equal(await listed(runtime, 'in-a'), undefined);
  });

  test('removeInstance kills a process that ignores SIGTERM once the grace period is over', async () => {
    const instance = await start(runtime, spec('n-stubborn', 'in-stubborn', { args: ['', '--ignore-sigterm'] }));
    const pid = Number(instance.runtimeId);
    await get(instance, '/healthz');
    const t0 = Date.now();
    await runtime.removeInstance('in-stubborn', 1);
    const took = Date.now() - t0;
    assert.ok(took >= 900, `waited the grace period (${took} ms)`);
    await waitFor('the process to be gone', async () => (alive(pid) ? undefined : true));
  });

  test('expands ${BERTH_MOUNT_<name>} and ${BERTH_PORT_<port>} in command and args', async () => {
    const file = join(root, 'checkpoint.txt');
    writeFileSync(file, 'the checkpoint');
    const instance = await start(
      runtime,
      spec('n-mount', 'in-mount', {
        args: ['${BERTH_MOUNT_CHECKPOINT}', '--port=${BERTH_PORT_8080}', '${BERTH_MOUNT_UNKNOWN}'],
        mounts: [{ name: 'CHECKPOINT', source: file, target: '/checkpoint/blob' }],
      }),
    );
    const me = await whoami(instance);
    assert.deepEqual(me.args, [file, `--port=${instance.ports[8080]?.port}`, '${BERTH_MOUNT_UNKNOWN}']);
    assert.equal(me.env.BERTH_MOUNT_CHECKPOINT, file);
    assert.equal(await (await get(instance, '/mount')).text(), 'the checkpoint');
    await runtime.removeInstance('in-mount');
  });

  test('an exiting program is reported with its exit code', async () => {
    const instance = await start(
      runtime,
      spec('n-exit', 'in-exit', { command: [], args: [process.execPath, '-e', 'console.log("bye"); process.exit(3)'], ports: [] }),
    );
    const exited = await waitFor('the exit', async () => {
      const found = await listed(runtime, 'in-exit');
      return found?.state === 'exited' && found.exitCode !== undefined ? found : undefined;
    });
    assert.equal(exited.runtimeId, instance.runtimeId);
    assert.equal(exited.exitCode, 3);
    assert.equal(exited.exitReason, 'exit code 3');
    assert.equal(await runtime.tailLogs('in-exit', 5), 'bye\n');
    await runtime.removeNodeResources('n-exit');
    assert.equal(existsSync(join(stateDir, 'in-exit.json')), false);
  });

  test('a program that cannot start is an error, and leaves no state', async () => {
    await assert.rejects(
      runtime.startInstance(spec('n-bad', 'in-bad', { command: [join(root, 'no-such-program')] })),
      (err: unknown) => err instanceof ProcessStartError && /not found/.test(err.message),
    );
    await assert.rejects(
      runtime.startInstance(spec('n-bad', 'in-empty', { command: [], args: [] })),
      (err: unknown) => err instanceof ProcessStartError && /needs a program/.test(err.message),
    );
    assert.equal(await listed(runtime, 'in-bad'), undefined);
    assert.equal(await listed(runtime, 'in-empty'), undefined);
  });

  test('applies the memory limit with prlimit', { skip: existsSync(PRLIMIT) ? false : `${PRLIMIT} is not installed` }, async () => {
    const instance = await start(runtime, spec('n-limits', 'in-limits', { memoryBytes: 2 * GiB, cpu: 1 }));
    await get(instance, '/healthz');
    const limits = readFileSync(`/proc/${instance.runtimeId}/limits`, 'utf8');
    const line = limits.split('\n').find((l) => l.startsWith('Max address space'));
    assert.match(line ?? '', new RegExp(`^Max address space\\s+${2 * GiB}\\s+${2 * GiB}\\s+bytes`));
    await runtime.removeInstance('in-limits');
  });
});

describe('process runtime helpers', () => {
  test('expandPlaceholders replaces only known Berth placeholders', () => {
    const values = { BERTH_PORT_8080: '41000', BERTH_MOUNT_DATA: '/srv/data' };
    assert.equal(expandPlaceholders('--listen=127.0.0.1:${BERTH_PORT_8080}', values), '--listen=127.0.0.1:41000');
    assert.equal(expandPlaceholders('${BERTH_MOUNT_DATA}/${BERTH_MOUNT_DATA}', values), '/srv/data//srv/data');
    assert.equal(expandPlaceholders('${HOME} ${BERTH_PORT_9} $BERTH_PORT_8080', values), '${HOME} ${BERTH_PORT_9} $BERTH_PORT_8080');
  });

  test('commandLine combines command and args like an entrypoint and its command', () => {
    assert.deepEqual(commandLine({ command: ['a', 'b'], args: ['c'] }, {}), { program: 'a', args: ['b', 'c'] });
    assert.deepEqual(commandLine({ command: [], args: ['c', 'd'] }, {}), { program: 'c', args: ['d'] });
    assert.equal(commandLine({ command: [], args: [] }, {}), undefined);
  });

  test('tailFile returns whole last lines of a large file', async () => {
    const file = join(root, 'big.log');
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    assert.equal(await tailFile(file, 3), `${lines.slice(-3).join('\n')}\n`);
    assert.equal(await tailFile(file, 0), '');
    writeFileSync(file, 'one\ntwo');
    assert.equal(await tailFile(file, 5), 'one\ntwo');
    assert.equal(await tailFile(join(root, 'missing.log'), 5), '');
  });
});
