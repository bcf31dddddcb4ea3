/**
 * DockerRuntime against the real Docker engine, with images built locally by
 * scripts/build-test-images.sh. Everything created carries a unique
 * `berth.run_id` label and is removed at the end. All traffic goes to
 * 127.0.0.1 and the ports published there, never to a container's own address.
 *
 * Without an engine the engine tests are skipped, loudly; with
 * BERTH_REQUIRE_DOCKER=1 they fail instead.
 *
 *   node --import tsx --test test/runtime/docker-runtime.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import Dockerode from 'dockerode';
import { service as healthService } from 'grpc-health-check';
import pino from 'pino';
import { DockerRuntime } from '../../src/runtime/docker/docker-runtime';
import { DockerEngineError } from '../../src/runtime/docker/errors';
import { LABELS, containerName, networkName } from '../../src/runtime/docker/labels';
import {
  ImageUnavailableError,
  RuntimeUnavailableError,
  type InstanceSpec,
  type ObservedInstance,
} from '../../src/runtime/runtime';
import { buildTestImages } from '../images/test-images';

const MiB = 1024 * 1024;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
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
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function loopbackAddress(instance: ObservedInstance, port: number): string {
  const published = instance.ports[port];
  assert.ok(published, `port ${port} of ${instance.instanceId} is published`);
  assert.equal(published.host, '127.0.0.1');
  return `${published.host}:${published.port}`;
}

interface WhoAmI {
  hostname: string;
  instance: string | null;
  pid: number;
}

/**
 * fetch with a deadline on a ref'd timer. Node 20's fetch can leave its promise
 * pending for good when a connection is reset while a container is still
 * starting (Docker's port proxy accepts, then drops it); the timer both keeps
 * the event loop alive and aborts such a call so the probe can try again.
 */
async function fetchWithDeadline(url: string, init: RequestInit = {}, timeoutMs = 2_000): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
  try {
    const res = await fetch(url, { ...init, signal: controller.signal });
    await res.clone().arrayBuffer();
    return res;
  } finally {
    clearTimeout(timer);
  }
}

function whoami(instance: ObservedInstance): Promise<WhoAmI> {
  return waitFor(`http /whoami of ${instance.instanceId}`, async () => {
    const res = await fetchWithDeadline(`http://${loopbackAddress(instance, 8080)}/whoami`);
    return res.ok ? ((await res.json()) as WhoAmI) : undefined;
  });
}

/** What a unary call needs of a proto-loader method definition (of whichever proto-loader version). */
interface UnaryMethod {
  path: string;
  requestSerialize: (value: object) => Buffer;
  responseDeserialize: (bytes: Buffer) => object;
}

/** One unary gRPC call with a plain Client. */
function unary<Req extends object, Res>(
  address: string,
  method: UnaryMethod | undefined,
  request: Req,
  metadata = new grpc.Metadata(),
): Promise<{ response: Res; header: grpc.Metadata; trailer: grpc.Metadata }> {
  assert.ok(method, 'method is defined');
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  let header = new grpc.Metadata();
  return new Promise<{ response: Res; header: grpc.Metadata; trailer: grpc.Metadata }>((resolve, reject) => {
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + 2_000 },
      (err, response) => {
        if (err || response === undefined) reject(err ?? new Error('no response'));
        else call.on('status', (status) => resolve({ response: response as Res, header, trailer: status.metadata }));
      },
    );
    call.on('metadata', (m) => (header = m));
  }).finally(() => client.close());
}

function ids(instances: ObservedInstance[], nodeId: string): string[] {
  return instances
    .filter((i) => i.nodeId === nodeId)
    .map((i) => i.instanceId)
    .sort();
}

async function removeRun(docker: Dockerode, runId: string): Promise<void> {
  const filters = { label: [`${LABELS.runId}=${runId}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters })) {
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

async function engineAnswers(docker: Dockerode): Promise<string | undefined> {
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5_000).unref()),
    ]);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

test('DockerRuntime against the real engine', { timeout: 300_000 }, async (t) => {
  const docker = new Dockerode();
  const unreachable = await engineAnswers(docker);
  if (unreachable !== undefined) {
    const message = `the Docker engine does not answer (${unreachable})`;
    if (process.env.BERTH_REQUIRE_DOCKER === '1') assert.fail(`${message}, and BERTH_REQUIRE_DOCKER=1`);
    console.warn(
      `\n${'!'.repeat(78)}\n!!! SKIPPING the Docker runtime tests: ${message}.\n` +
        `!!! Set BERTH_REQUIRE_DOCKER=1 to make this a failure.\n${'!'.repeat(78)}\n`,
    );
    t.skip(message);
    return;
  }

  const images = await buildTestImages();
  const runId = `rt${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  // No registry is reachable here: a missing image must fail without reaching out.
  const runtime = new DockerRuntime({ docker, runId, logger, pullMissing: false });
  t.after(() => removeRun(docker, runId));

  const nodeA = `na-${runId}`;
  const spec = (nodeId: string, instanceId: string, over: Partial<InstanceSpec> = {}): InstanceSpec => ({
    folderId: `f-${runId}`,
    nodeId,
    instanceId,
    generation: 3,
    image: images.http,
    command: [],
    args: [],
    env: { HEALTHY: 'true' },
    ports: [8080],
    cpu: 0,
    memoryBytes: 0,
    ...over,
  });
  const one = spec(nodeA, 'i-1', { cpu: 0.5, memoryBytes: 256 * MiB });
  const two = spec(nodeA, 'i-2');
  let first!: ObservedInstance;
  let second!: ObservedInstance;

  await t.test('starts two instances of a node, each answering on its own loopback port', async () => {
    [first, second] = await Promise.all([runtime.startInstance(one), runtime.startInstance(two)]);
    for (const [instance, wanted] of [
      [first, one],
      [second, two],
    ] as const) {
      assert.equal(instance.state, 'running');
      assert.equal(instance.instanceId, wanted.instanceId);
      assert.match(instance.runtimeId, /^[0-9a-f]{64}$/);
      assert.ok(instance.startedAt instanceof Date);
    }
    assert.notEqual(first.ports[8080]?.port, second.ports[8080]?.port);
    const [a, b] = await Promise.all([whoami(first), whoami(second)]);
    assert.equal(a.instance, 'i-1');
    assert.equal(b.instance, 'i-2');
    assert.notEqual(a.hostname, b.hostname);
  });

  await t.test('labels the containers and lists them back', async () => {
    const info = await docker.getContainer(first.runtimeId).inspect();
    assert.equal(info.Name, `/${containerName(nodeA, 'i-1')}`);
    assert.deepEqual(info.Config.Labels, {
      [LABELS.managed]: 'true',
      [LABELS.folderId]: `f-${runId}`,
      [LABELS.nodeId]: nodeA,
      [LABELS.instanceId]: 'i-1',
      [LABELS.generation]: '3',
      [LABELS.runId]: runId,
    });
    const listed = await runtime.listInstances();
    assert.deepEqual(ids(listed, nodeA), ['i-1', 'i-2']);
    const again = listed.find((i) => i.instanceId === 'i-1');
    assert.ok(again);
    assert.equal(again.folderId, `f-${runId}`);
    assert.equal(again.generation, 3);
    assert.equal(again.state, 'running');
    assert.equal(again.runtimeId, first.runtimeId);
    assert.deepEqual(again.ports, first.ports);
    assert.equal(again.startedAt?.getTime(), first.startedAt?.getTime());
    assert.equal(again.exitCode, undefined);
  });

  await t.test('runs them unprivileged on the node network, loopback-only, with the limits of the spec', async () => {
    const limited = await docker.getContainer(first.runtimeId).inspect();
    const unlimited = await docker.getContainer(second.runtimeId).inspect();
    const host = limited.HostConfig;
    assert.equal(host.Privileged, false);
    assert.deepEqual(host.CapDrop, ['NET_RAW']);
    assert.deepEqual(host.SecurityOpt, ['no-new-privileges']);
    assert.equal(host.PidsLimit, 4096);
    assert.equal(host.RestartPolicy?.Name, 'no');
    assert.equal(host.NanoCpus, 500_000_000);
    assert.equal(host.Memory, 256 * MiB);
    assert.equal(unlimited.HostConfig.NanoCpus, 0);
    assert.equal(unlimited.HostConfig.Memory, 0);
    assert.deepEqual(host.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    assert.ok(limited.Config.Env.includes('BERTH_INSTANCE_ID=i-1'));
    assert.ok(limited.Config.Env.includes('HEALTHY=true'));

    const network = await docker.getNetwork(networkName(nodeA)).inspect();
    assert.equal(network.Driver, 'bridge');
    assert.equal(network.Labels?.[LABELS.managed], 'true');
    assert.equal(network.Labels?.[LABELS.nodeId], nodeA);
    assert.equal(network.Labels?.[LABELS.runId], runId);
    assert.deepEqual(Object.keys(limited.NetworkSettings.Networks), [networkName(nodeA)]);
    assert.deepEqual(Object.keys(network.Containers ?? {}).sort(), [first.runtimeId, second.runtimeId].sort());
  });

  await t.test('adopts a running instance when it is started again', async () => {
    const adopted = await runtime.startInstance(one);
    assert.equal(adopted.runtimeId, first.runtimeId);
    assert.equal(adopted.state, 'running');
    assert.deepEqual(adopted.ports, first.ports);
    assert.deepEqual(ids(await runtime.listInstances(), nodeA), ['i-1', 'i-2']);
  });

  await t.test('reports a killed instance as exited, and replaces it on the next start', async () => {
    await docker.getContainer(second.runtimeId).kill();
    const exited = await waitFor('i-2 to be listed as exited', async () =>
      (await runtime.listInstances()).find((i) => i.instanceId === 'i-2' && i.state === 'exited'),
    );
    assert.equal(exited.exitCode, 137);
    assert.equal(exited.exitReason, 'exit code 137 (SIGKILL)');
    assert.deepEqual(exited.ports, {});

    const replaced = await runtime.startInstance(two);
    assert.notEqual(replaced.runtimeId, second.runtimeId);
    assert.equal(replaced.state, 'running');
    assert.equal((await whoami(replaced)).instance, 'i-2');
    await assert.rejects(docker.getContainer(second.runtimeId).inspect(), { statusCode: 404 });
    second = replaced;
  });

  await t.test('applies command and args, and tails stdout and stderr demultiplexed, in order', async () => {
    const script = "console.log('to stdout'); setTimeout(() => console.error('to stderr'), 200); setInterval(() => {}, 1000)";
    const logger3 = await runtime.startInstance(
      spec(nodeA, 'i-3', { command: ['/usr/local/bin/node'], args: ['-e', script], ports: [] }),
    );
    assert.deepEqual(logger3.ports, {});
    const logs = await waitFor('both lines in the logs', async () => {
      const text = await runtime.tailLogs('i-3', 10);
      return text.includes('to stderr') ? text : undefined;
    });
    assert.equal(logs, 'to stdout\nto stderr\n');
    assert.equal(await runtime.tailLogs('i-3', 1), 'to stderr\n');
    assert.equal(await runtime.tailLogs('no-such-instance', 10), '');
    assert.match(await runtime.tailLogs('i-1', 5), /berth-test-http listening on :8080\n/);
    await runtime.removeInstance('i-3', 0);
  });

  await t.test('mounts host files read-only and expands their placeholders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-mount-'));
    try {
      const script = join(dir, 'script.js');
      writeFileSync(
        script,
        [
          "const fs = require('node:fs');",
          'console.log(`ran ${process.env.BERTH_MOUNT_SCRIPT} port=${process.argv[2]}`);',
          "try { fs.writeFileSync(__filename, 'changed'); } catch (err) { console.log(`write: ${err.code}`); }",
          'setInterval(() => {}, 1000);',
        ].join('\n'),
      );
      chmodSync(script, 0o644);
      await runtime.startInstance(
        spec(nodeA, 'i-mount', {
          command: ['/usr/local/bin/node', '${BERTH_MOUNT_SCRIPT}'],
          args: ['${BERTH_PORT_8080}'],
          mounts: [{ name: 'SCRIPT', source: script, target: '/berth/script.js' }],
        }),
      );
      const logs = await waitFor('the mounted script to run', async () => {
        const text = await runtime.tailLogs('i-mount', 10);
        return text.includes('write:') ? text : undefined;
      });
      assert.equal(logs, 'ran /berth/script.js port=8080\nwrite: EROFS\n');
    } finally {
      await runtime.removeInstance('i-mount', 0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await t.test('binds neither the Docker socket nor a directory into a container, whatever the spec mounts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-data-'));
    try {
      const blob = join(dir, 'checkpoint.blob');
      writeFileSync(blob, 'blob');
      const started = await runtime.startInstance(spec(nodeA, 'i-binds', { mounts: [{ name: 'BLOB', source: blob, target: '/berth/checkpoint.blob' }] }));
      const info = await docker.getContainer(started.runtimeId).inspect();
      const sources = [...(info.HostConfig.Binds ?? []).map((b) => b.split(':')[0]!), ...(info.HostConfig.Mounts ?? []).map((m) => m.Source ?? '')];
      assert.deepEqual(sources, [blob], 'the one file the spec names, nothing else');
      assert.equal(info.HostConfig.Mounts?.[0]?.ReadOnly, true);
      for (const m of info.Mounts) assert.doesNotMatch(m.Source ?? '', /docker\.sock|^\/var\/run$|^\/run$/);
      await runtime.removeInstance('i-binds', 0);

      for (const source of ['/var/run/docker.sock', dir, '/']) {
        await assert.rejects(
          runtime.startInstance(spec(nodeA, 'i-refused', { mounts: [{ name: 'X', source, target: '/berth/x' }] })),
          /is not a regular file|cannot mount/,
          source,
        );
      }
      assert.equal((await runtime.listInstances(nodeA)).some((i) => i.instanceId === 'i-refused'), false, 'no container was created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await t.test('removes an instance gracefully, and a second remove is a no-op', async () => {
    const started = Date.now();
    await runtime.removeInstance('i-1');
    // The server exits on SIGTERM, so the 5 s grace is not waited out.
    assert.ok(Date.now() - started < 4_000, `remove took ${Date.now() - started} ms`);
    await runtime.removeInstance('i-1');
    await runtime.removeInstance('never-existed');
    assert.deepEqual(ids(await runtime.listInstances(), nodeA), ['i-2']);
    await assert.rejects(docker.getContainer(first.runtimeId).inspect(), { statusCode: 404 });
  });

  await t.test('reports an instance killed for exceeding its memory limit as OOMKilled', async () => {
    const hungry = await runtime.startInstance(spec(nodeA, 'i-oom', { memoryBytes: 96 * MiB }));
    try {
      await whoami(hungry);
      // The answer never comes: the kernel kills the server while it allocates.
      await fetchWithDeadline(`http://${loopbackAddress(hungry, 8080)}/alloc?mb=256`, { method: 'POST' }, 10_000).catch(
        () => undefined,
      );
      const killed = await waitFor(
        'i-oom to be listed as exited',
        async () => (await runtime.listInstances()).find((i) => i.instanceId === 'i-oom' && i.state === 'exited'),
        30_000,
      );
      assert.equal(killed.exitReason, 'OOMKilled', JSON.stringify(killed));
      assert.equal(killed.exitCode, 137);
    } finally {
      await runtime.removeInstance('i-oom', 0);
    }
  });

  await t.test('ensureImage accepts a local image and rejects a missing one quickly, saying why', async () => {
    await runtime.ensureImage(images.http);
    const missing = `berth-missing-${runId}:1`;
    const started = Date.now();
    await assert.rejects(runtime.ensureImage(missing, { username: 'u', password: 'p' }), (err: unknown) => {
      assert.ok(err instanceof ImageUnavailableError, String(err));
      assert.equal(err.image, missing);
      assert.match(err.message, new RegExp(`^image ${missing} is not available: not found locally, and pulling missing images is off$`));
      return true;
    });
    assert.ok(Date.now() - started < 30_000, `ensureImage took ${Date.now() - started} ms`);
  });

  await t.test('startInstance of an image that is not present fails with ImageUnavailableError', async () => {
    await assert.rejects(
      runtime.startInstance(spec(nodeA, 'i-noimage', { image: `berth-missing-${runId}:1` })),
      ImageUnavailableError,
    );
    assert.ok(!ids(await runtime.listInstances(), nodeA).includes('i-noimage'));
  });

  await t.test('an instance whose command cannot run fails to start and leaves no container', async () => {
    await assert.rejects(
      runtime.startInstance(spec(nodeA, 'i-badcmd', { command: ['/no/such/program'] })),
      (err: unknown) => {
        assert.ok(err instanceof DockerEngineError, String(err));
        assert.match(err.message, /^docker start container berth-.*-i-badcmd failed: .*no such file/i);
        return true;
      },
    );
    assert.ok(!ids(await runtime.listInstances(), nodeA).includes('i-badcmd'));
  });

  await t.test('two runtimes starting instances of a new node at once share one network', async () => {
    const nodeC = `nc-${runId}`;
    const other = new DockerRuntime({ docker, runId, logger });
    const [x, y] = await Promise.all([
      runtime.startInstance(spec(nodeC, 'i-x', { ports: [] })),
      other.startInstance(spec(nodeC, 'i-y', { ports: [] })),
    ]);
    const networks = (await docker.listNetworks({ filters: { name: [networkName(nodeC)] } })).filter(
      (n) => n.Name === networkName(nodeC),
    );
    assert.equal(networks.length, 1);
    const attached = async (id: string): Promise<string | undefined> =>
      (await docker.getContainer(id).inspect()).NetworkSettings.Networks[networkName(nodeC)]?.NetworkID;
    assert.equal(await attached(x.runtimeId), networks[0]?.Id);
    assert.equal(await attached(y.runtimeId), networks[0]?.Id);
    await Promise.all([runtime.removeInstance('i-x', 0), runtime.removeInstance('i-y', 0)]);
    await runtime.removeNodeResources(nodeC);
  });

  await t.test('the gRPC image answers health checks and calls on its published port', async () => {
    const nodeG = `ng-${runId}`;
    const instance = await runtime.startInstance(
      spec(nodeG, 'i-g', { image: images.grpc, ports: [50051], env: {} }),
    );
    const address = loopbackAddress(instance, 50051);
    const health = await waitFor('the gRPC health check to answer', async () =>
      (await unary<{ service: string }, { status: string }>(address, healthService['Check'], { service: '' })).response,
    );
    assert.equal(health.status, 'SERVING');

    const echo = loadSync(join(__dirname, '../images/grpc-server/echo.proto'))['berth.test.Echo'] as Record<
      string,
      MethodDefinition<object, object>
    >;
    const metadata = new grpc.Metadata();
    metadata.set('x-test', 'hello');
    const answer = await unary<{ message: string }, { message: string; instance: string }>(
      address,
      echo['Echo'],
      { message: 'ping' },
      metadata,
    );
    assert.deepEqual(answer.response, { message: 'ping', instance: 'i-g' });
    assert.deepEqual(answer.header.get('x-test'), ['hello']);
    assert.deepEqual(answer.trailer.get('x-instance'), ['i-g']);

    // A network with a running instance is not removed from under it.
    await assert.rejects(runtime.removeNodeResources(nodeG), DockerEngineError);
    await runtime.removeInstance('i-g', 1);
    await runtime.removeNodeResources(nodeG);
  });

  await t.test('a runtime sees only its own run when it has a run id', async () => {
    const stranger = new DockerRuntime({ docker, runId: `${runId}-other`, logger });
    assert.deepEqual(await stranger.listInstances(), []);
    const everyone = new DockerRuntime({ docker, logger });
    assert.ok((await everyone.listInstances()).some((i) => i.runtimeId === second.runtimeId));
  });

  await t.test('removeNodeResources removes the node network, and again is a no-op', async () => {
    await runtime.removeInstance('i-2');
    await runtime.removeNodeResources(nodeA);
    await runtime.removeNodeResources(nodeA);
    await assert.rejects(docker.getNetwork(networkName(nodeA)).inspect(), { statusCode: 404 });
    assert.deepEqual(ids(await runtime.listInstances(), nodeA), []);
  });
});

test('an engine that cannot be reached is RuntimeUnavailableError, with the cause', async () => {
  const runtime = new DockerRuntime({ docker: new Dockerode({ socketPath: '/nonexistent/docker.sock' }) });
  for (const call of [() => runtime.listInstances(), () => runtime.ensureImage('berth-test-http:latest')]) {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof RuntimeUnavailableError, String(err));
      assert.match(err.message, /could not be reached/);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  }
});

test('an engine that accepts but never answers hits the API deadline', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-silent-engine-'));
  const socketPath = join(dir, 'docker.sock');
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const runtime = new DockerRuntime({ docker: new Dockerode({ socketPath }), apiTimeoutMs: 300 });
  const started = Date.now();
  await assert.rejects(runtime.listInstances(), (err: unknown) => {
    assert.ok(err instanceof RuntimeUnavailableError, String(err));
    assert.match(err.message, /did not answer \(list containers\) within 0.3 s/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000);
});
