import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../src/domain/errors';
import { DEFAULTS, secretUsesOf, validateNode, withDefaults, type DockerSource, type NodeInput, type NodeSpec } from '../../src/domain/node';
import { defaultSecurity } from '../../src/domain/container-security';

function dockerSpec(overrides: Partial<DockerSource> = {}, rest: Partial<NodeSpec> = {}): NodeSpec {
  return {
    source: {
      kind: 'docker',
      image: 'registry.example.com/team/model:1.2',
      registrySecretId: '',
      endpoint: { type: 'http', port: 8080, timeoutMs: 0, idleTimeoutMs: 0 },
      env: {},
      envFromSecrets: [],
      command: [],
      args: [],
      telemetry: null,
      healthCheck: { type: 'http', port: 0, path: '', grpcService: '', timeoutMs: 0, intervalMs: 0, failsThreshold: 0, passesThreshold: 0 },
      security: defaultSecurity(),
      ...overrides,
    },
    configuration: { name: '', cpu: 0, memoryBytes: 0, gpu: 0 },
    instanceRange: { min: 0, max: 0 },
    autoscaling: { targetInFlight: 0, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 0 },
    maintenanceLimit: 0,
    acl: { folderIds: [] },
    ...rest,
  };
}

function checkpointSpec(): NodeSpec {
  return {
    ...dockerSpec(),
    source: {
      kind: 'checkpoint',
      checkpointId: 'cp1',
      inputVariables: [{ name: 'x', type: 'int' }],
      outputVariables: [{ name: 'y', type: 'list[float]' }],
      environmentImage: '',
    },
  };
}

const input = (spec: NodeSpec, extra: Partial<NodeInput> = {}): NodeInput => ({
  folderId: 'default',
  name: 'web',
  description: '',
  labels: {},
  spec: withDefaults(spec),
  ...extra,
});

/** The fields validateNode refuses, or [] when it accepts. */
function refused(node: NodeInput): string[] {
  try {
    validateNode(node);
    return [];
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.violations.map((v) => v.field);
  }
}

describe('withDefaults', () => {
  it('fills every default a user may leave out, and shows the health check following the endpoint', () => {
    const spec = withDefaults(dockerSpec());
    assert.deepEqual(spec.instanceRange, { min: 1, max: 1 });
    assert.deepEqual(spec.autoscaling, { targetInFlight: DEFAULTS.targetInFlight, scaleDownStabilizationMs: DEFAULTS.scaleDownStabilizationMs, scaleToZeroAfterMs: DEFAULTS.scaleToZeroAfterMs });
    assert.equal(spec.maintenanceLimit, DEFAULTS.maintenanceLimit);
    assert.equal(spec.source.kind, 'docker');
    if (spec.source.kind !== 'docker') return;
    assert.deepEqual(spec.source.endpoint, { type: 'http', port: 8080, timeoutMs: 60_000, idleTimeoutMs: 60_000 });
    assert.deepEqual(spec.source.healthCheck, {
      type: 'http',
      port: 8080,
      path: '/',
      grpcService: '',
      timeoutMs: DEFAULTS.healthTimeoutMs,
      intervalMs: DEFAULTS.healthIntervalMs,
      failsThreshold: DEFAULTS.failsThreshold,
      passesThreshold: DEFAULTS.passesThreshold,
    });
  });

  it('keeps what the user set', () => {
    const spec = withDefaults(
      dockerSpec(
        {
          endpoint: { type: 'grpc', port: 9000, timeoutMs: 5_000, idleTimeoutMs: 7_000 },
          healthCheck: { type: 'grpc', port: 9001, path: '/ignored', grpcService: 'svc', timeoutMs: 300, intervalMs: 500, failsThreshold: 5, passesThreshold: 2 },
        },
        { instanceRange: { min: 0, max: 3 }, autoscaling: { targetInFlight: 4, scaleDownStabilizationMs: 1_000, scaleToZeroAfterMs: 0 }, maintenanceLimit: 2 },
      ),
    );
    assert.deepEqual(spec.instanceRange, { min: 0, max: 3 }, 'min 0 with a max is a node that may sleep, not "unset"');
    assert.deepEqual(spec.autoscaling, { targetInFlight: 4, scaleDownStabilizationMs: 1_000, scaleToZeroAfterMs: DEFAULTS.scaleToZeroAfterMs });
    assert.equal(spec.maintenanceLimit, 2);
    if (spec.source.kind !== 'docker') return assert.fail('kind changed');
    assert.deepEqual(spec.source.endpoint, { type: 'grpc', port: 9000, timeoutMs: 5_000, idleTimeoutMs: 7_000 });
    assert.deepEqual(spec.source.healthCheck, {
      type: 'grpc',
      port: 9001,
      path: '',
      grpcService: 'svc',
      timeoutMs: 300,
      intervalMs: 500,
      failsThreshold: 5,
      passesThreshold: 2,
    });
  });

  it('drops the gRPC service of an HTTP check', () => {
    const spec = withDefaults(dockerSpec({ healthCheck: { ...(dockerSpec().source as DockerSource).healthCheck, grpcService: 'svc', path: '/health' } }));
    if (spec.source.kind !== 'docker') return assert.fail('kind changed');
    assert.equal(spec.source.healthCheck.grpcService, '');
    assert.equal(spec.source.healthCheck.path, '/health');
  });

  it('leaves a checkpoint source as it is and does not change its argument', () => {
    const raw = checkpointSpec();
    const before = structuredClone(raw);
    const spec = withDefaults(raw);
    assert.deepEqual(spec.source, raw.source);
    assert.deepEqual(raw, before);
  });

  it('is idempotent', () => {
    const once = withDefaults(dockerSpec());
    assert.deepEqual(withDefaults(once), once);
  });
});

describe('validateNode field paths', () => {
  it('accepts a complete docker node and a complete checkpoint node', () => {
    assert.deepEqual(refused(input(dockerSpec())), []);
    assert.deepEqual(refused(input(checkpointSpec())), []);
  });

  const docker = (o: Partial<DockerSource>, r: Partial<NodeSpec> = {}) => input(dockerSpec(o, r));
  const hc = (o: Partial<DockerSource['healthCheck']>) => docker({ healthCheck: { ...(dockerSpec().source as DockerSource).healthCheck, ...o } });
  const cases: Array<[what: string, node: NodeInput, fields: string[]]> = [
    ['empty name', input(dockerSpec(), { name: '' }), ['node.name']],
    ['name Team_A', input(dockerSpec(), { name: 'Team_A' }), ['node.name']],
    ['name of 64 characters', input(dockerSpec(), { name: 'n'.repeat(64) }), ['node.name']],
    ['empty folder id', input(dockerSpec(), { folderId: '' }), ['node.folder_id']],
    ['long description', input(dockerSpec(), { description: 'd'.repeat(257) }), ['node.description']],
    ['bad label key', input(dockerSpec(), { labels: { Team: 'a' } }), ['node.labels.Team']],
    ['no image', docker({ image: '' }), ['node.spec.docker.image']],
    ['image with a space', docker({ image: 'my image' }), ['node.spec.docker.image']],
    ['bad registry secret id', docker({ registrySecretId: 'Not_An_Id' }), ['node.spec.docker.registry_secret_id']],
    ['endpoint port 0', docker({ endpoint: { type: 'http', port: 0, timeoutMs: 0, idleTimeoutMs: 0 }, healthCheck: { ...(dockerSpec().source as DockerSource).healthCheck, port: 80 } }), ['node.spec.docker.endpoint.port']],
    ['endpoint port 70000', docker({ endpoint: { type: 'http', port: 70000, timeoutMs: 0, idleTimeoutMs: 0 }, healthCheck: { ...(dockerSpec().source as DockerSource).healthCheck, port: 80 } }), ['node.spec.docker.endpoint.port']],
    ['endpoint timeout over an hour', docker({ endpoint: { type: 'http', port: 80, timeoutMs: 3_600_001, idleTimeoutMs: 0 } }), ['node.spec.docker.endpoint.timeout']],
    ['negative idle timeout', docker({ endpoint: { type: 'http', port: 80, timeoutMs: 0, idleTimeoutMs: -1 } }), ['node.spec.docker.endpoint.idle_timeout']],
    ['env name with a dash', docker({ env: { 'MY-VAR': 'x', GOOD_1: 'y' } }), ['node.spec.docker.env.MY-VAR']],
    ['health check port 70000', hc({ port: 70000 }), ['node.spec.docker.health_check.port']],
    ['health check path without /', hc({ path: 'healthz' }), ['node.spec.docker.health_check.path']],
    ['health check interval under 100ms', hc({ intervalMs: 50 }), ['node.spec.docker.health_check.interval']],
    ['negative fails threshold', hc({ failsThreshold: -1 }), ['node.spec.docker.health_check.fails_threshold']],
    ['passes threshold 101', hc({ passesThreshold: 101 }), ['node.spec.docker.health_check.passes_threshold']],
    ['telemetry port 0', docker({ telemetry: { httpPath: '/metrics', port: 0 } }), ['node.spec.docker.telemetry.port']],
    ['telemetry path without /', docker({ telemetry: { httpPath: 'metrics', port: 9100 } }), ['node.spec.docker.telemetry.http_path']],
    ['cpu 65', docker({}, { configuration: { name: '', cpu: 65, memoryBytes: 0, gpu: 0 } }), ['node.spec.configuration.cpu']],
    ['negative cpu', docker({}, { configuration: { name: '', cpu: -0.5, memoryBytes: 0, gpu: 0 } }), ['node.spec.configuration.cpu']],
    ['memory 1 MiB', docker({}, { configuration: { name: '', cpu: 0, memoryBytes: 2 ** 20, gpu: 0 } }), ['node.spec.configuration.memory_bytes']],
    ['9 GPUs', docker({}, { configuration: { name: '', cpu: 0, memoryBytes: 0, gpu: 9 } }), ['node.spec.configuration.gpu']],
    ['min > max', docker({}, { instanceRange: { min: 3, max: 2 } }), ['node.spec.instance_range']],
    ['max 0 with min 1', docker({}, { instanceRange: { min: 1, max: 0 } }), ['node.spec.instance_range.max', 'node.spec.instance_range']],
    ['max 65', docker({}, { instanceRange: { min: 1, max: 65 } }), ['node.spec.instance_range.max']],
    ['negative min', docker({}, { instanceRange: { min: -1, max: 2 } }), ['node.spec.instance_range.min']],
    ['negative target in flight', docker({}, { autoscaling: { targetInFlight: -1, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 0 } }), ['node.spec.autoscaling.target_in_flight']],
    ['idle window under a second', docker({}, { autoscaling: { targetInFlight: 1, scaleDownStabilizationMs: 0, scaleToZeroAfterMs: 500 } }), ['node.spec.autoscaling.scale_to_zero_after']],
    ['maintenance limit 65', docker({}, { maintenanceLimit: 65 }), ['node.spec.maintenance_limit']],
    ['bad ACL folder id', docker({}, { acl: { folderIds: ['default', 'Bad Id'] } }), ['node.spec.acl.folder_ids[1]']],
    ['env from a secret with a bad name', docker({ envFromSecrets: [{ envName: 'MY-TOKEN', secretId: 'sc1', key: 'token' }] }), ['node.spec.docker.env_from_secrets[0].env_name']],
    ['env from a secret also set plainly', docker({ env: { TOKEN: 'x' }, envFromSecrets: [{ envName: 'TOKEN', secretId: 'sc1', key: 'token' }] }), ['node.spec.docker.env_from_secrets[0].env_name']],
    [
      'env from two secrets under one name',
      docker({ envFromSecrets: [{ envName: 'TOKEN', secretId: 'sc1', key: 'a' }, { envName: 'TOKEN', secretId: 'sc2', key: 'b' }] }),
      ['node.spec.docker.env_from_secrets[1].env_name'],
    ],
    ['env from a secret without id or key', docker({ envFromSecrets: [{ envName: 'TOKEN', secretId: '', key: '' }] }), ['node.spec.docker.env_from_secrets[0].secret_id', 'node.spec.docker.env_from_secrets[0].key']],
  ];
  for (const [what, node, fields] of cases) {
    it(`${what} → ${fields.join(', ')}`, () => assert.deepEqual(refused(node), fields));
  }

  it('lists the secrets a Docker node uses, with the fields that name them and the keys it reads', () => {
    const spec = dockerSpec({ registrySecretId: 'screg', envFromSecrets: [{ envName: 'TOKEN', secretId: 'scapp', key: 'token' }] });
    assert.deepEqual(secretUsesOf(spec), [
      { field: 'node.spec.docker.registry_secret_id', keyField: 'node.spec.docker.registry_secret_id', secretId: 'screg', keys: ['username', 'password'] },
      { field: 'node.spec.docker.env_from_secrets[0].secret_id', keyField: 'node.spec.docker.env_from_secrets[0].key', secretId: 'scapp', keys: ['token'] },
    ]);
    assert.deepEqual(secretUsesOf(checkpointSpec()), []);
  });

  it('reports every problem of a request at once', () => {
    const node = input(dockerSpec({ image: '' }, { instanceRange: { min: 5, max: 2 } }), { name: 'Bad_Name' });
    assert.deepEqual(refused(node), ['node.name', 'node.spec.docker.image', 'node.spec.instance_range']);
  });

  it('names checkpoint variables by index', () => {
    const spec = checkpointSpec();
    if (spec.source.kind !== 'checkpoint') return assert.fail('not a checkpoint spec');
    const cases: Array<[what: string, source: Partial<typeof spec.source>, fields: string[]]> = [
      ['no outputs', { outputVariables: [] }, ['node.spec.checkpoint.output_variables']],
      ['input not an identifier', { inputVariables: [{ name: 'x', type: 'int' }, { name: '1x', type: 'int' }] }, ['node.spec.checkpoint.input_variables[1].name']],
      ['input declared twice', { inputVariables: [{ name: 'x', type: 'int' }, { name: 'x', type: 'str' }] }, ['node.spec.checkpoint.input_variables[1].name']],
      ['unknown type', { outputVariables: [{ name: 'y', type: 'tuple' as never }] }, ['node.spec.checkpoint.output_variables[0].type']],
      ['empty checkpoint id', { checkpointId: '' }, ['node.spec.checkpoint.checkpoint_id']],
      ['bad environment image', { environmentImage: 'not an image' }, ['node.spec.checkpoint.environment_image']],
    ];
    for (const [what, source, fields] of cases) {
      const node = input({ ...spec, source: { ...spec.source, ...source } });
      assert.deepEqual(refused(node), fields, what);
    }
  });

  it('uses the prefix it is given', () => {
    try {
      validateNode(input(dockerSpec(), { name: '' }), 'request.node');
      assert.fail('accepted an empty name');
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.violations.map((v) => v.field), ['request.node.name']);
    }
  });
});
