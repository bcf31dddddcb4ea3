import { checkSecurity, securityWithDefaults, type ContainerSecurity } from './container-security';
import { LIMITS } from './limits';
import { checkVariableNames } from './variable-names';
import { REGISTRY_KEYS, type SecretUse } from './secret';
import { Violations, checkBytes, checkDescription, checkId, checkLabels, checkLength, checkName, checkPort, checkRange, quoted } from './validation';

export const VARIABLE_TYPES = [
  'int',
  'float',
  'str',
  'bool',
  'bytes',
  'list',
  'dict',
  'list[int]',
  'list[float]',
  'list[str]',
  'list[bool]',
  'list[bytes]',
] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export interface Variable {
  name: string;
  type: VariableType;
}

export interface CheckpointSource {
  kind: 'checkpoint';
  checkpointId: string;
  inputVariables: Variable[];
  outputVariables: Variable[];
  /** Empty: the standard system image. */
  environmentImage: string;
}

export type EndpointType = 'http' | 'grpc';

export interface Endpoint {
  type: EndpointType;
  port: number;
  timeoutMs: number;
  idleTimeoutMs: number;
}

export interface HealthCheck {
  type: EndpointType;
  port: number;
  path: string;
  grpcService: string;
  timeoutMs: number;
  intervalMs: number;
  failsThreshold: number;
  passesThreshold: number;
}

export interface Telemetry {
  httpPath: string;
  port: number;
}

/** An environment variable whose value is an entry of a secret of the node's folder. */
export interface EnvFromSecret {
  envName: string;
  secretId: string;
  key: string;
}

export interface DockerSource {
  kind: 'docker';
  image: string;
  /** Empty: the image is pulled without credentials. */
  registrySecretId: string;
  endpoint: Endpoint;
  env: Record<string, string>;
  envFromSecrets: EnvFromSecret[];
  command: string[];
  args: string[];
  telemetry: Telemetry | null;
  healthCheck: HealthCheck;
  /** How the containers are confined beyond Berth's defaults. */
  security: ContainerSecurity;
}

export interface NodeSpec {
  source: CheckpointSource | DockerSource;
  /** `name`: a configuration of the catalog the values came from; empty for raw values (see domain/configuration.ts). */
  configuration: { name: string; cpu: number; memoryBytes: number; gpu: number };
  instanceRange: { min: number; max: number };
  /**
   * `scaleToZeroAfterMs`: how long a node with `instanceRange.min` 0 goes
   * without calls before it sleeps (zero instances; a call wakes it).
   */
  autoscaling: { targetInFlight: number; scaleDownStabilizationMs: number; scaleToZeroAfterMs: number };
  maintenanceLimit: number;
  acl: { folderIds: string[] };
}

export type NodeState = 'created' | 'healthy' | 'unhealthy' | 'deleting' | 'suspended';

export const INSTANCE_STATES = ['undefined', 'created', 'started', 'preparing', 'healthy', 'unhealthy', 'deleting'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

export interface Condition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
  lastTransitionTime: Date;
}

export interface NodeStatus {
  state: NodeState;
  reason: string;
  instanceCounts: Record<InstanceState, number>;
  desiredInstances: number;
  observedGeneration: number;
  conditions: Condition[];
  timeToHealthyMs: number | null;
  lastScalingDecision: string;
  lastScalingTime: Date | null;
  /** Set when a generation could not start (image missing, never healthy); a spec change or a resume clears it. */
  failure: { generation: number; reason: string } | null;
  /** The current attempt to get the node healthy; null while the node is suspended or deleted. */
  attempt: StartAttempt | null;
  /** A sleeping node's last wake: from the call that woke it to its first healthy instance. */
  lastWake: { durationMs: number; time: Date } | null;
}

/**
 * One attempt to get a node's generation healthy, begun by that generation
 * (CreateNode, or an UpdateNode that changed the spec) or by a ResumeNode.
 * The startup timeout and the failure verdict run from `since`, so a failed
 * node is revived by a new generation or a resume.
 */
export interface StartAttempt {
  generation: number;
  since: Date;
  /** Whether the node became healthy during this attempt (no failure verdict after that). */
  reached: boolean;
}

export interface Node {
  id: string;
  folderId: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  spec: NodeSpec;
  /** Bumped on every spec change; instances record the generation they were made for. */
  generation: number;
  /** Desired lifecycle besides the spec: suspended nodes run no instances. */
  suspended: boolean;
  /** Set by DeleteNode; the supervisor removes instances, then the node. */
  deleting: boolean;
  createTime: Date;
  updateTime: Date;
  version: number;
}

/** The user-settable part of a node. */
export type NodeInput = Pick<Node, 'folderId' | 'name' | 'description' | 'labels' | 'spec'>;

export const DEFAULTS = {
  endpointTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  healthTimeoutMs: 1_000,
  healthIntervalMs: 2_000,
  failsThreshold: 3,
  passesThreshold: 1,
  targetInFlight: 1,
  scaleDownStabilizationMs: 60_000,
  /** Five minutes without calls: a wake costs about a cold start, so a node is not put to sleep between calls a few minutes apart. */
  scaleToZeroAfterMs: 300_000,
  maintenanceLimit: 1,
} as const;

export function emptyInstanceCounts(): Record<InstanceState, number> {
  return { undefined: 0, created: 0, started: 0, preparing: 0, healthy: 0, unhealthy: 0, deleting: 0 };
}

export function initialNodeStatus(): NodeStatus {
  return {
    state: 'created',
    reason: 'waiting for instances',
    instanceCounts: emptyInstanceCounts(),
    desiredInstances: 0,
    observedGeneration: 0,
    conditions: [],
    timeToHealthyMs: null,
    lastScalingDecision: '',
    lastScalingTime: null,
    failure: null,
    attempt: null,
    lastWake: null,
  };
}

/**
 * Fills the defaults a user may leave out, so that what is stored (and shown
 * back) is the effective spec, not a partial one that each reader completes differently.
 */
export function withDefaults(spec: NodeSpec): NodeSpec {
  const range = spec.instanceRange;
  const instanceRange = range.min === 0 && range.max === 0 ? { min: 1, max: 1 } : range;
  const autoscaling = {
    targetInFlight: spec.autoscaling.targetInFlight || DEFAULTS.targetInFlight,
    scaleDownStabilizationMs: spec.autoscaling.scaleDownStabilizationMs || DEFAULTS.scaleDownStabilizationMs,
    scaleToZeroAfterMs: spec.autoscaling.scaleToZeroAfterMs || DEFAULTS.scaleToZeroAfterMs,
  };
  const maintenanceLimit = spec.maintenanceLimit || DEFAULTS.maintenanceLimit;
  let source = spec.source;
  if (source.kind === 'docker') {
    const endpoint = {
      ...source.endpoint,
      timeoutMs: source.endpoint.timeoutMs || DEFAULTS.endpointTimeoutMs,
      idleTimeoutMs: source.endpoint.idleTimeoutMs || DEFAULTS.idleTimeoutMs,
    };
    const hc = source.healthCheck;
    const healthCheck: HealthCheck = {
      type: hc.type,
      port: hc.port || endpoint.port,
      path: hc.type === 'http' ? hc.path || '/' : '',
      grpcService: hc.type === 'grpc' ? hc.grpcService : '',
      timeoutMs: hc.timeoutMs || DEFAULTS.healthTimeoutMs,
      intervalMs: hc.intervalMs || DEFAULTS.healthIntervalMs,
      failsThreshold: hc.failsThreshold || DEFAULTS.failsThreshold,
      passesThreshold: hc.passesThreshold || DEFAULTS.passesThreshold,
    };
    source = { ...source, endpoint, healthCheck, security: securityWithDefaults(source.security) };
  }
  return { ...spec, source, instanceRange, autoscaling, maintenanceLimit };
}

const IMAGE_REF = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/;

function checkVariables(v: Violations, field: string, variables: Variable[]): void {
  if (variables.length > LIMITS.variables) v.add(field, `declares ${variables.length} variables; at most ${LIMITS.variables}`);
  const listed = variables.slice(0, LIMITS.variables);
  const long = new Set<number>();
  listed.forEach((variable, i) => {
    if (variable.name.length > LIMITS.variableNameChars) {
      long.add(i);
      v.add(`${field}[${i}].name`, `is ${variable.name.length} characters long; at most ${LIMITS.variableNameChars}`);
    }
  });
  // A name over the limit is reported once; the others are checked as the generated API needs them.
  checkVariableNames(v, field, listed.map((variable, i) => (long.has(i) ? undefined : variable.name)));
  listed.forEach((variable, i) => {
    if (!(VARIABLE_TYPES as readonly string[]).includes(variable.type)) v.add(`${field}[${i}].type`, 'is required');
  });
}

/**
 * The environment of a Docker node: names the runtime accepts, and sizes that
 * keep the stored node (and every list of its folder) small.
 */
function checkEnv(v: Violations, field: string, env: Record<string, string>): void {
  const keys = Object.keys(env);
  if (keys.length > LIMITS.envEntries) v.add(field, `has ${keys.length} variables; at most ${LIMITS.envEntries}`);
  let total = 0;
  for (const key of keys.slice(0, LIMITS.envEntries)) {
    if (key.length > LIMITS.envNameChars) v.add(`${field}.${key.slice(0, 64)}`, `the name is ${key.length} characters long; at most ${LIMITS.envNameChars}`);
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) v.add(`${field}.${key}`, 'is not a valid environment variable name');
    total += Buffer.byteLength(key) + checkBytes(v, `${field}.${key.slice(0, 64)}`, env[key]!, LIMITS.envValueBytes);
  }
  if (total > LIMITS.envTotalBytes) v.add(field, `is ${total} bytes of names and values; at most ${LIMITS.envTotalBytes}`);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** References to secrets: valid names, none twice, none also a plain variable. */
function checkEnvFromSecrets(v: Violations, field: string, refs: EnvFromSecret[], env: Record<string, string>): void {
  if (refs.length > LIMITS.envFromSecrets) v.add(field, `has ${refs.length} entries; at most ${LIMITS.envFromSecrets}`);
  const seen = new Map<string, number>();
  refs.slice(0, LIMITS.envFromSecrets).forEach((ref, i) => {
    const at = `${field}[${i}]`;
    if (ref.envName === '') v.add(`${at}.env_name`, 'is required');
    else if (ref.envName.length > LIMITS.envNameChars) v.add(`${at}.env_name`, `is ${ref.envName.length} characters long; at most ${LIMITS.envNameChars}`);
    else if (!ENV_NAME.test(ref.envName)) v.add(`${at}.env_name`, `${quoted(ref.envName)} is not a valid environment variable name`);
    else if (Object.hasOwn(env, ref.envName)) v.add(`${at}.env_name`, `${quoted(ref.envName)} is also set in env; a variable has one source`);
    else if (seen.has(ref.envName)) v.add(`${at}.env_name`, `${quoted(ref.envName)} is also set by ${field}[${seen.get(ref.envName)}]`);
    seen.set(ref.envName, i);
    checkId(v, `${at}.secret_id`, ref.secretId);
    if (ref.key === '') v.add(`${at}.key`, 'is required');
    else if (ref.key.length > LIMITS.secretKeyChars) v.add(`${at}.key`, `is ${ref.key.length} characters long; at most ${LIMITS.secretKeyChars}`);
  });
}

/**
 * The secrets a node spec uses, with the field that names each and the keys
 * it reads: what must exist (in the node's folder) when the node is written,
 * and what a secret's new version or deletion must not take away.
 */
export function secretUsesOf(spec: NodeSpec, prefix = 'node.spec'): SecretUse[] {
  const src = spec.source;
  if (src.kind !== 'docker') return [];
  const uses: SecretUse[] = [];
  const registry = `${prefix}.docker.registry_secret_id`;
  if (src.registrySecretId !== '') uses.push({ field: registry, keyField: registry, secretId: src.registrySecretId, keys: [...REGISTRY_KEYS] });
  src.envFromSecrets.forEach((ref, i) => {
    const at = `${prefix}.docker.env_from_secrets[${i}]`;
    uses.push({ field: `${at}.secret_id`, keyField: `${at}.key`, secretId: ref.secretId, keys: [ref.key] });
  });
  return uses;
}

/** A command or args list: entries and bytes bounded. */
function checkArgv(v: Violations, field: string, argv: string[]): number {
  if (argv.length > LIMITS.argvEntries) v.add(field, `has ${argv.length} entries; at most ${LIMITS.argvEntries}`);
  let total = 0;
  argv.slice(0, LIMITS.argvEntries).forEach((arg, i) => (total += checkBytes(v, `${field}[${i}]`, arg, LIMITS.argvEntryBytes)));
  return total;
}

function checkDuration(v: Violations, field: string, ms: number, minMs: number, maxMs: number): void {
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) v.add(field, `is ${ms / 1000}s; must be from ${minMs / 1000}s to ${maxMs / 1000}s`);
}

/**
 * Checks a node as the user sent it, with defaults already applied; field
 * paths are proto field names under `prefix`.
 */
export function validateNode(input: NodeInput, prefix = 'node'): void {
  const v = new Violations();
  checkId(v, `${prefix}.folder_id`, input.folderId);
  checkName(v, `${prefix}.name`, input.name);
  checkDescription(v, `${prefix}.description`, input.description);
  checkLabels(v, `${prefix}.labels`, input.labels);
  const spec = input.spec;
  const s = `${prefix}.spec`;
  const src = spec.source;
  if (src.kind === 'checkpoint') {
    checkId(v, `${s}.checkpoint.checkpoint_id`, src.checkpointId);
    checkVariables(v, `${s}.checkpoint.input_variables`, src.inputVariables);
    checkVariables(v, `${s}.checkpoint.output_variables`, src.outputVariables);
    if (src.outputVariables.length === 0) v.add(`${s}.checkpoint.output_variables`, 'declare at least one output variable');
    if (src.environmentImage.length > LIMITS.imageRefChars) checkLength(v, `${s}.checkpoint.environment_image`, src.environmentImage, LIMITS.imageRefChars);
    else if (src.environmentImage !== '' && !IMAGE_REF.test(src.environmentImage))
      v.add(`${s}.checkpoint.environment_image`, `${quoted(src.environmentImage)} is not an image reference`);
  } else {
    const d = `${s}.docker`;
    if (src.image === '') v.add(`${d}.image`, 'is required');
    else if (src.image.length > LIMITS.imageRefChars) checkLength(v, `${d}.image`, src.image, LIMITS.imageRefChars);
    else if (!IMAGE_REF.test(src.image)) v.add(`${d}.image`, `${quoted(src.image)} is not an image reference`);
    if (src.registrySecretId !== '') checkId(v, `${d}.registry_secret_id`, src.registrySecretId);
    checkPort(v, `${d}.endpoint.port`, src.endpoint.port);
    checkDuration(v, `${d}.endpoint.timeout`, src.endpoint.timeoutMs, 1, 3_600_000);
    checkDuration(v, `${d}.endpoint.idle_timeout`, src.endpoint.idleTimeoutMs, 1, 3_600_000);
    checkEnv(v, `${d}.env`, src.env);
    checkEnvFromSecrets(v, `${d}.env_from_secrets`, src.envFromSecrets, src.env);
    const argv = checkArgv(v, `${d}.command`, src.command) + checkArgv(v, `${d}.args`, src.args);
    if (argv > LIMITS.argvTotalBytes) v.add(`${d}.args`, `the command and args are ${argv} bytes together; at most ${LIMITS.argvTotalBytes}`);
    const hc = src.healthCheck;
    checkLength(v, `${d}.health_check.path`, hc.path, LIMITS.pathChars);
    checkLength(v, `${d}.health_check.grpc_service`, hc.grpcService, LIMITS.pathChars);
    checkPort(v, `${d}.health_check.port`, hc.port);
    if (hc.type === 'http' && !hc.path.startsWith('/')) v.add(`${d}.health_check.path`, 'must start with "/"');
    checkDuration(v, `${d}.health_check.timeout`, hc.timeoutMs, 1, 600_000);
    checkDuration(v, `${d}.health_check.interval`, hc.intervalMs, 100, 600_000);
    checkRange(v, `${d}.health_check.fails_threshold`, hc.failsThreshold, 1, 100);
    checkRange(v, `${d}.health_check.passes_threshold`, hc.passesThreshold, 1, 100);
    if (src.telemetry) {
      checkPort(v, `${d}.telemetry.port`, src.telemetry.port);
      if (!src.telemetry.httpPath.startsWith('/')) v.add(`${d}.telemetry.http_path`, 'must start with "/"');
      checkLength(v, `${d}.telemetry.http_path`, src.telemetry.httpPath, LIMITS.pathChars);
    }
    checkSecurity(v, `${d}.security`, src.security);
  }
  const c = spec.configuration;
  if (!(c.cpu >= 0 && c.cpu <= 64)) v.add(`${s}.configuration.cpu`, `is ${c.cpu}; must be from 0 to 64 cores`);
  if (!Number.isSafeInteger(c.memoryBytes) || (c.memoryBytes !== 0 && (c.memoryBytes < LIMITS.memoryBytesMin || c.memoryBytes > LIMITS.memoryBytesMax)))
    v.add(`${s}.configuration.memory_bytes`, `is ${c.memoryBytes}; must be 0 (no limit) or from 16 MiB to 1 TiB`);
  checkRange(v, `${s}.configuration.gpu`, c.gpu, 0, 8);
  const r = spec.instanceRange;
  checkRange(v, `${s}.instance_range.min`, r.min, 0, 64);
  checkRange(v, `${s}.instance_range.max`, r.max, 1, 64);
  if (r.min > r.max) v.add(`${s}.instance_range`, `min ${r.min} is greater than max ${r.max}`);
  if (!(spec.autoscaling.targetInFlight > 0 && spec.autoscaling.targetInFlight <= 10_000))
    v.add(`${s}.autoscaling.target_in_flight`, `is ${spec.autoscaling.targetInFlight}; must be above 0 and at most 10000`);
  checkDuration(v, `${s}.autoscaling.scale_down_stabilization`, spec.autoscaling.scaleDownStabilizationMs, 0, 86_400_000);
  checkDuration(v, `${s}.autoscaling.scale_to_zero_after`, spec.autoscaling.scaleToZeroAfterMs, 1000, 86_400_000);
  checkRange(v, `${s}.maintenance_limit`, spec.maintenanceLimit, 1, 64);
  if (spec.acl.folderIds.length > LIMITS.labelEntries) v.add(`${s}.acl.folder_ids`, `has ${spec.acl.folderIds.length} entries; at most ${LIMITS.labelEntries}`);
  spec.acl.folderIds.slice(0, LIMITS.labelEntries).forEach((id, i) => checkId(v, `${s}.acl.folder_ids[${i}]`, id));
  v.throwIfAny();
}
