/**
 * The pure parts of the Docker runtime: what it asks Docker for, how it reads
 * Docker's answers back, and how it classifies Docker's errors. No engine needed.
 *
 *   node --import tsx --test test/runtime/docker-mapping.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import { defaultSecurity } from '../../src/domain/container-security';
import { PIDS_LIMIT, containerCreateOptions } from '../../src/runtime/docker/container-spec';
import { capabilitiesOf } from '../../src/runtime/docker/engine-capabilities';
import { WORKER_SECURITY } from '../../src/supervisor/instance-spec';
import { DockerEngineError, engineMessageOf, translateEngineError } from '../../src/runtime/docker/errors';
import { LABELS, identityFromLabels, instanceLabels, scopeFilter } from '../../src/runtime/docker/labels';
import { exitReason, observedState, toObservedInstance } from '../../src/runtime/docker/observed-instance';
import { RuntimeUnavailableError, type InstanceSpec } from '../../src/runtime/runtime';

const spec: InstanceSpec = {
  folderId: 'f1',
  nodeId: 'n1',
  instanceId: 'i1',
  generation: 2,
  image: 'img:1',
  command: [],
  args: [],
  env: { A: '1', BERTH_INSTANCE_ID: 'spoofed' },
  ports: [8080, 9090],
  cpu: 0,
  memoryBytes: 0,
};

type State = Dockerode.ContainerInspectInfo['State'];

function state(over: Partial<State>): State {
  return {
    Status: 'exited',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: '2026-01-02T03:04:05.123456789Z',
    FinishedAt: '2026-01-02T03:05:05Z',
    ...over,
  };
}

function inspectInfo(over: {
  State?: Partial<State>;
  Labels?: Record<string, string>;
  Ports?: Dockerode.ContainerInspectInfo['NetworkSettings']['Ports'];
}): Dockerode.ContainerInspectInfo {
  return {
    Id: 'c'.repeat(64),
    State: state(over.State ?? {}),
    Config: { Labels: over.Labels ?? instanceLabels(spec) },
    NetworkSettings: { Ports: over.Ports ?? {} },
  } as unknown as Dockerode.ContainerInspectInfo;
}

describe('containerCreateOptions', () => {
  const placement = { networkId: 'net1', hostIp: '127.0.0.1' };

  it('publishes every port on the host ip with a port Docker picks', () => {
    const options = containerCreateOptions(spec, placement);
    assert.deepEqual(options.ExposedPorts, { '8080/tcp': {}, '9090/tcp': {} });
    assert.deepEqual(options.HostConfig?.PortBindings, {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
      '9090/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
    });
    assert.equal(options.HostConfig?.NetworkMode, 'net1');
    assert.equal(options.name, 'berth-n1-i1');
  });

  it('keeps the image entrypoint and command when the spec gives none, and sets no limits at 0', () => {
    const options = containerCreateOptions(spec, placement);
    assert.equal('Entrypoint' in options, false);
    assert.equal('Cmd' in options, false);
    assert.equal(options.HostConfig?.NanoCpus, undefined);
    assert.equal(options.HostConfig?.Memory, undefined);
  });

  it('overrides entrypoint and command, and applies cpu and memory limits', () => {
    const options = containerCreateOptions(
      { ...spec, command: ['/bin/app'], args: ['--port', '1'], cpu: 1.5, memoryBytes: 512 * 1024 * 1024 },
      placement,
    );
    assert.deepEqual(options.Entrypoint, ['/bin/app']);
    assert.deepEqual(options.Cmd, ['--port', '1']);
    assert.equal(options.HostConfig?.NanoCpus, 1_500_000_000);
    assert.equal(options.HostConfig?.Memory, 512 * 1024 * 1024);
    assert.equal(options.HostConfig?.MemorySwap, 512 * 1024 * 1024);
  });

  it('runs with Docker\'s default capabilities minus NET_RAW, no new privileges, a PID limit and no Docker restart policy', () => {
    for (const options of [containerCreateOptions(spec, placement), containerCreateOptions({ ...spec, security: defaultSecurity() }, placement)]) {
      const host = options.HostConfig;
      assert.equal(host?.Privileged, false);
      assert.deepEqual(host?.CapDrop, ['NET_RAW']);
      assert.equal(host?.CapAdd, undefined);
      assert.deepEqual(host?.SecurityOpt, ['no-new-privileges']);
      assert.equal(host?.PidsLimit, PIDS_LIMIT);
      assert.equal(PIDS_LIMIT, 4096);
      assert.equal(host?.ReadonlyRootfs, false);
      assert.equal(host?.Tmpfs, undefined);
      assert.equal(host?.DeviceRequests, undefined);
      assert.deepEqual(host?.RestartPolicy, { Name: 'no' });
      assert.equal('User' in options, false, 'the image\'s own user');
      // Nothing of the host: no privileged mode, no host network, no host paths but the read-only files of `mounts`.
      assert.equal(host?.NetworkMode, 'net1');
      assert.deepEqual(host?.Mounts, []);
      assert.equal(host?.Binds, undefined);
    }
  });

  it('passes the env and the instance identity, which the spec cannot override', () => {
    const env = containerCreateOptions(spec, placement).Env ?? [];
    assert.ok(env.includes('A=1'));
    assert.ok(env.includes('BERTH_INSTANCE_ID=i1'));
    assert.ok(env.includes('BERTH_NODE_ID=n1'));
    assert.ok(env.includes('BERTH_FOLDER_ID=f1'));
    assert.ok(!env.includes('BERTH_INSTANCE_ID=spoofed'));
  });

  it('mounts host files read-only and expands port and mount placeholders in command and args', () => {
    const options = containerCreateOptions(
      {
        ...spec,
        command: ['/usr/bin/python3', '${BERTH_MOUNT_WORKER}'],
        args: ['--port=${BERTH_PORT_8080}', '--blob', '${BERTH_MOUNT_BLOB}', '${HOME}', '${BERTH_MOUNT_NONE}'],
        mounts: [
          { name: 'WORKER', source: '/host/worker.py', target: '/berth/worker.py' },
          { name: 'BLOB', source: '/host/blob.bin', target: '/berth/blob.bin' },
        ],
      },
      placement,
    );
    assert.deepEqual(options.Entrypoint, ['/usr/bin/python3', '/berth/worker.py']);
    assert.deepEqual(options.Cmd, ['--port=8080', '--blob', '/berth/blob.bin', '${HOME}', '${BERTH_MOUNT_NONE}']);
    assert.deepEqual(options.HostConfig?.Mounts, [
      { Type: 'bind', Source: '/host/worker.py', Target: '/berth/worker.py', ReadOnly: true },
      { Type: 'bind', Source: '/host/blob.bin', Target: '/berth/blob.bin', ReadOnly: true },
    ]);
    const env = options.Env ?? [];
    assert.ok(env.includes('BERTH_MOUNT_WORKER=/berth/worker.py'));
    assert.ok(env.includes('BERTH_PORT_8080=8080'));
    assert.ok(env.includes('BERTH_PORT_9090=9090'));
  });

  it('labels the container, with the run id only when there is one', () => {
    assert.equal(containerCreateOptions(spec, placement).Labels?.[LABELS.runId], undefined);
    const labels = containerCreateOptions(spec, { ...placement, runId: 'r1' }).Labels;
    assert.deepEqual(labels, {
      'berth.managed': 'true',
      'berth.folder_id': 'f1',
      'berth.node_id': 'n1',
      'berth.instance_id': 'i1',
      'berth.generation': '2',
      'berth.run_id': 'r1',
    });
  });
});

describe('containerCreateOptions: what a node spec may change', () => {
  const placement = { networkId: 'net1', hostIp: '127.0.0.1' };
  const withSecurity = (over: Partial<ReturnType<typeof defaultSecurity>>) =>
    containerCreateOptions({ ...spec, security: { ...defaultSecurity(), ...over } }, placement);

  it('runs as the user the spec names', () => {
    assert.equal(withSecurity({ user: '1000:1000' }).User, '1000:1000');
    assert.equal(withSecurity({ user: 'nginx' }).User, 'nginx');
  });

  it('adds capabilities, and drops more besides NET_RAW', () => {
    const host = withSecurity({ capAdd: ['SYS_NICE', 'IPC_LOCK'], capDrop: ['CHOWN', 'NET_RAW', 'MKNOD'] }).HostConfig;
    assert.deepEqual(host?.CapAdd, ['SYS_NICE', 'IPC_LOCK']);
    assert.deepEqual(host?.CapDrop, ['NET_RAW', 'CHOWN', 'MKNOD']);
  });

  it('keeps NET_RAW when the spec adds it back', () => {
    const host = withSecurity({ capAdd: ['NET_RAW'] }).HostConfig;
    assert.deepEqual(host?.CapAdd, ['NET_RAW']);
    assert.deepEqual(host?.CapDrop, []);
  });

  it('drops everything but what is added when the spec drops ALL', () => {
    const host = withSecurity({ capAdd: ['NET_BIND_SERVICE'], capDrop: ['ALL'] }).HostConfig;
    assert.deepEqual(host?.CapAdd, ['NET_BIND_SERVICE']);
    assert.deepEqual(host?.CapDrop, ['ALL']);
  });

  it('mounts the root filesystem read-only with size-limited tmpfs mounts', () => {
    const host = withSecurity({
      readOnlyRootFilesystem: true,
      tmpfs: [
        { path: '/run', sizeBytes: 64 * 2 ** 20 },
        { path: '/var/lib/nginx', sizeBytes: 2 ** 20 },
      ],
    }).HostConfig;
    assert.equal(host?.ReadonlyRootfs, true);
    assert.deepEqual(host?.Tmpfs, {
      '/run': 'rw,nosuid,nodev,noexec,size=67108864',
      '/var/lib/nginx': 'rw,nosuid,nodev,noexec,size=1048576',
    });
    // Still confined as by default.
    assert.deepEqual(host?.CapDrop, ['NET_RAW']);
    assert.deepEqual(host?.SecurityOpt, ['no-new-privileges']);
    assert.equal(host?.Privileged, false);
  });

  it('requests NVIDIA GPUs for a spec with gpu > 0, none at 0', () => {
    assert.deepEqual(containerCreateOptions({ ...spec, gpu: 2 }, placement).HostConfig?.DeviceRequests, [
      { Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] },
    ]);
    assert.equal(containerCreateOptions({ ...spec, gpu: 0 }, placement).HostConfig?.DeviceRequests, undefined);
  });

  it('runs checkpoint workers as the berth user with every capability dropped', () => {
    const options = containerCreateOptions({ ...spec, security: WORKER_SECURITY }, placement);
    assert.equal(options.User, '10001:10001');
    assert.deepEqual(options.HostConfig?.CapDrop, ['ALL']);
    assert.equal(options.HostConfig?.CapAdd, undefined);
    assert.deepEqual(options.HostConfig?.SecurityOpt, ['no-new-privileges']);
    assert.equal(options.HostConfig?.PidsLimit, PIDS_LIMIT);
  });
});

describe('engine capabilities', () => {
  it('has GPUs only with the nvidia runtime', () => {
    assert.deepEqual(capabilitiesOf({ Runtimes: { runc: {}, nvidia: {} } }), {});
    assert.match(capabilitiesOf({ Runtimes: { runc: {}, 'io.containerd.runc.v2': {} } }).gpuUnavailable ?? '', /no GPU runtime: its runtimes are io\.containerd\.runc\.v2, runc, without nvidia/);
    assert.match(capabilitiesOf({}).gpuUnavailable ?? '', /runtimes are none/);
  });
});

describe('labels', () => {
  it('filters by the managed label, and by the run when there is one', () => {
    assert.deepEqual(scopeFilter(undefined), ['berth.managed=true']);
    assert.deepEqual(scopeFilter('r1', 'berth.instance_id=i1'), [
      'berth.managed=true',
      'berth.run_id=r1',
      'berth.instance_id=i1',
    ]);
  });

  it('reads an identity back, and refuses an incomplete one', () => {
    assert.deepEqual(identityFromLabels(instanceLabels(spec)), { folderId: 'f1', nodeId: 'n1', instanceId: 'i1', generation: 2 });
    assert.equal(identityFromLabels({ ...instanceLabels(spec), [LABELS.generation]: 'x' }), undefined);
    assert.equal(identityFromLabels({ [LABELS.managed]: 'true' }), undefined);
    assert.equal(identityFromLabels(null), undefined);
  });
});

describe('observed instances', () => {
  for (const [docker, ours] of [
    ['created', 'created'],
    ['running', 'running'],
    ['paused', 'running'],
    ['restarting', 'running'],
    ['removing', 'exited'],
    ['exited', 'exited'],
    ['dead', 'exited'],
  ] as const) {
    it(`maps Docker state ${docker} to ${ours}`, () => assert.equal(observedState(docker), ours));
  }

  for (const [over, reason] of [
    [{ ExitCode: 0 }, 'exit code 0'],
    [{ ExitCode: 1 }, 'exit code 1'],
    [{ ExitCode: 137 }, 'exit code 137 (SIGKILL)'],
    [{ ExitCode: 143 }, 'exit code 143 (SIGTERM)'],
    [{ ExitCode: 137, OOMKilled: true }, 'OOMKilled'],
    [{ Status: 'created', Error: 'exec: "/x": not found' }, 'exec: "/x": not found'],
    [{ Status: 'running', Running: true }, undefined],
    [{ Status: 'created' }, undefined],
  ] as const) {
    it(`explains ${JSON.stringify(over)} as ${String(reason)}`, () => assert.equal(exitReason(state(over)), reason));
  }

  it('reports a running container with its ports and start time', () => {
    const observed = toObservedInstance(
      inspectInfo({
        State: { Status: 'running', Running: true },
        Ports: {
          '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '32768' }],
          '9090/tcp': [{ HostIp: '0.0.0.0', HostPort: '32769' }],
          '53/udp': [{ HostIp: '127.0.0.1', HostPort: '32770' }],
          '7070/tcp': null as unknown as Array<{ HostIp: string; HostPort: string }>,
        },
      }),
      '127.0.0.1',
    );
    assert.deepEqual(observed, {
      folderId: 'f1',
      nodeId: 'n1',
      instanceId: 'i1',
      generation: 2,
      runtimeId: 'c'.repeat(64),
      state: 'running',
      startedAt: new Date('2026-01-02T03:04:05.123Z'),
      ports: { 8080: { host: '127.0.0.1', port: 32768 }, 9090: { host: '127.0.0.1', port: 32769 } },
    });
  });

  it('reports an exited container with its exit code and reason, and no start time if it never started', () => {
    const observed = toObservedInstance(
      inspectInfo({ State: { ExitCode: 2, StartedAt: '0001-01-01T00:00:00Z' } }),
      '127.0.0.1',
    );
    assert.equal(observed?.state, 'exited');
    assert.equal(observed?.exitCode, 2);
    assert.equal(observed?.exitReason, 'exit code 2');
    assert.equal(observed?.startedAt, undefined);
  });

  it('ignores a container without instance labels', () => {
    assert.equal(toObservedInstance(inspectInfo({ Labels: { [LABELS.managed]: 'true' } }), '127.0.0.1'), undefined);
  });
});

describe('engine errors', () => {
  const answered = Object.assign(new Error('(HTTP code 404) no such container - No such container: abc '), {
    statusCode: 404,
    json: { message: 'No such container: abc' },
  });

  it('keeps the engine message and status of an answer', () => {
    const err = translateEngineError(answered, 'inspect container abc');
    assert.ok(err instanceof DockerEngineError);
    assert.equal(err.statusCode, 404);
    assert.equal(err.message, 'docker inspect container abc failed: No such container: abc');
    assert.equal(err.cause, answered);
  });

  it('strips dockerode\'s prefix when there is no JSON message', () => {
    assert.equal(engineMessageOf(new Error('(HTTP code 500) server error - boom ')), 'boom');
  });

  for (const code of ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET']) {
    it(`calls ${code} an unavailable engine`, () => {
      const cause = Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });
      const err = translateEngineError(cause, 'list containers');
      assert.ok(err instanceof RuntimeUnavailableError);
      assert.equal(err.cause, cause);
    });
  }

  it('lets errors that are neither answers nor transport failures through unchanged', () => {
    const bug = new TypeError('x is undefined');
    assert.equal(translateEngineError(bug, 'list containers'), bug);
  });
});
