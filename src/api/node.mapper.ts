import {
  EndpointType as EndpointTypeProto,
  HealthCheckType,
  InstanceState as InstanceStateProto,
  NodeState as NodeStateProto,
  VariableType as VariableTypeProto,
  type Instance as InstanceProto,
  type Node as NodeProto,
  type NodeSpec as NodeSpecProto,
  type NodeStatus as NodeStatusProto,
  type Variable as VariableProto,
} from '../../gen/berth/v1/node';
import { ValidationError } from '../domain/errors';
import type { EndpointType, InstanceState, NodeInput, NodeSpec, NodeState, NodeStatus, Variable, VariableType } from '../domain/node';
import type { NodeView } from '../control/nodes';
import type { Instance } from '../domain/instance';
import { etagOf } from '../store/translate';
import { durationToMs, enumFrom, enumTo, invert, msToDuration } from './common.mapper';

const VARIABLE_TYPES: Record<number, VariableType> = {
  [VariableTypeProto.VARIABLE_TYPE_INT]: 'int',
  [VariableTypeProto.VARIABLE_TYPE_FLOAT]: 'float',
  [VariableTypeProto.VARIABLE_TYPE_STR]: 'str',
  [VariableTypeProto.VARIABLE_TYPE_BOOL]: 'bool',
  [VariableTypeProto.VARIABLE_TYPE_BYTES]: 'bytes',
  [VariableTypeProto.VARIABLE_TYPE_LIST]: 'list',
  [VariableTypeProto.VARIABLE_TYPE_DICT]: 'dict',
  [VariableTypeProto.VARIABLE_TYPE_LIST_INT]: 'list[int]',
  [VariableTypeProto.VARIABLE_TYPE_LIST_FLOAT]: 'list[float]',
  [VariableTypeProto.VARIABLE_TYPE_LIST_STR]: 'list[str]',
  [VariableTypeProto.VARIABLE_TYPE_LIST_BOOL]: 'list[bool]',
  [VariableTypeProto.VARIABLE_TYPE_LIST_BYTES]: 'list[bytes]',
};
const ENDPOINT_TYPES: Record<number, EndpointType> = {
  [EndpointTypeProto.ENDPOINT_TYPE_HTTP]: 'http',
  [EndpointTypeProto.ENDPOINT_TYPE_GRPC]: 'grpc',
};
const HEALTH_TYPES: Record<number, EndpointType> = {
  [HealthCheckType.HEALTH_CHECK_TYPE_HTTP]: 'http',
  [HealthCheckType.HEALTH_CHECK_TYPE_GRPC]: 'grpc',
};
const NODE_STATES: Record<number, NodeState> = {
  [NodeStateProto.NODE_STATE_CREATED]: 'created',
  [NodeStateProto.NODE_STATE_HEALTHY]: 'healthy',
  [NodeStateProto.NODE_STATE_UNHEALTHY]: 'unhealthy',
  [NodeStateProto.NODE_STATE_DELETING]: 'deleting',
  [NodeStateProto.NODE_STATE_SUSPENDED]: 'suspended',
};
const INSTANCE_STATES: Record<number, InstanceState> = {
  [InstanceStateProto.INSTANCE_STATE_UNDEFINED]: 'undefined',
  [InstanceStateProto.INSTANCE_STATE_CREATED]: 'created',
  [InstanceStateProto.INSTANCE_STATE_STARTED]: 'started',
  [InstanceStateProto.INSTANCE_STATE_PREPARING]: 'preparing',
  [InstanceStateProto.INSTANCE_STATE_HEALTHY]: 'healthy',
  [InstanceStateProto.INSTANCE_STATE_UNHEALTHY]: 'unhealthy',
  [InstanceStateProto.INSTANCE_STATE_DELETING]: 'deleting',
};

// Domain value → enum number, built once rather than on every mapping.
const VARIABLE_TYPE_NUMBERS = invert(VARIABLE_TYPES);
const ENDPOINT_TYPE_NUMBERS = invert(ENDPOINT_TYPES);
const HEALTH_TYPE_NUMBERS = invert(HEALTH_TYPES);
const NODE_STATE_NUMBERS = invert(NODE_STATES);
const INSTANCE_STATE_NUMBERS = invert(INSTANCE_STATES);

function variablesFrom(list: VariableProto[], field: string): Variable[] {
  return list.map((v, i) => ({ name: v.name, type: enumFrom(v.type, VARIABLE_TYPES, `${field}[${i}].type`)! }));
}

function variablesTo(list: Variable[]): VariableProto[] {
  return list.map((v) => ({ name: v.name, type: enumTo(v.type, VARIABLE_TYPE_NUMBERS) }));
}

/** proto spec → domain spec; zero values stay zero so that domain defaults fill them. */
export function nodeSpecFromProto(p: NodeSpecProto | undefined, prefix = 'node.spec'): NodeSpec {
  if (!p) throw ValidationError.of(prefix, 'is required');
  if (p.checkpoint && p.docker) throw ValidationError.of(prefix, 'set exactly one of checkpoint and docker, not both');
  let source: NodeSpec['source'];
  if (p.checkpoint) {
    const c = p.checkpoint;
    source = {
      kind: 'checkpoint',
      checkpointId: c.checkpointId,
      inputVariables: variablesFrom(c.inputVariables, `${prefix}.checkpoint.input_variables`),
      outputVariables: variablesFrom(c.outputVariables, `${prefix}.checkpoint.output_variables`),
      environmentImage: c.environmentImage,
    };
  } else if (p.docker) {
    const d = p.docker;
    const f = `${prefix}.docker`;
    if (!d.endpoint) throw ValidationError.of(`${f}.endpoint`, 'is required');
    const endpointType = enumFrom(d.endpoint.type, ENDPOINT_TYPES, `${f}.endpoint.type`)!;
    const hc = d.healthCheck;
    source = {
      kind: 'docker',
      image: d.image,
      registrySecretId: d.registrySecretId,
      endpoint: {
        type: endpointType,
        port: d.endpoint.port,
        timeoutMs: durationToMs(d.endpoint.timeout, `${f}.endpoint.timeout`),
        idleTimeoutMs: durationToMs(d.endpoint.idleTimeout, `${f}.endpoint.idle_timeout`),
      },
      env: d.env,
      envFromSecrets: d.envFromSecrets.map((r) => ({ envName: r.envName, secretId: r.secretId, key: r.key })),
      command: d.command,
      args: d.args,
      telemetry: d.telemetry && (d.telemetry.port || d.telemetry.httpPath) ? { httpPath: d.telemetry.httpPath || '/metrics', port: d.telemetry.port } : null,
      healthCheck: {
        type: hc ? (enumFrom(hc.type, HEALTH_TYPES, `${f}.health_check.type`, false) ?? endpointType) : endpointType,
        port: hc?.port ?? 0,
        path: hc?.path ?? '',
        grpcService: hc?.grpcService ?? '',
        timeoutMs: durationToMs(hc?.timeout, `${f}.health_check.timeout`),
        intervalMs: durationToMs(hc?.interval, `${f}.health_check.interval`),
        failsThreshold: hc?.failsThreshold ?? 0,
        passesThreshold: hc?.passesThreshold ?? 0,
      },
      security: {
        user: d.security?.user ?? '',
        capAdd: d.security?.capAdd ?? [],
        capDrop: d.security?.capDrop ?? [],
        readOnlyRootFilesystem: d.security?.readOnlyRootFilesystem ?? false,
        tmpfs: (d.security?.tmpfs ?? []).map((m) => ({ path: m.path, sizeBytes: m.sizeBytes })),
      },
    };
  } else {
    throw ValidationError.of(prefix, 'set one of checkpoint and docker');
  }
  return {
    source,
    configuration: { name: p.configuration?.name ?? '', cpu: p.configuration?.cpu ?? 0, memoryBytes: p.configuration?.memoryBytes ?? 0, gpu: p.configuration?.gpu ?? 0 },
    instanceRange: { min: p.instanceRange?.min ?? 0, max: p.instanceRange?.max ?? 0 },
    autoscaling: {
      targetInFlight: p.autoscaling?.targetInFlight ?? 0,
      scaleDownStabilizationMs: durationToMs(p.autoscaling?.scaleDownStabilization, `${prefix}.autoscaling.scale_down_stabilization`),
      scaleToZeroAfterMs: durationToMs(p.autoscaling?.scaleToZeroAfter, `${prefix}.autoscaling.scale_to_zero_after`),
    },
    maintenanceLimit: p.maintenanceLimit,
    acl: { folderIds: p.acl?.folderIds ?? [] },
  };
}

export function nodeSpecToProto(s: NodeSpec): NodeSpecProto {
  const src = s.source;
  const proto: NodeSpecProto = {
    configuration: { ...s.configuration },
    instanceRange: { ...s.instanceRange },
    autoscaling: {
      targetInFlight: s.autoscaling.targetInFlight,
      scaleDownStabilization: msToDuration(s.autoscaling.scaleDownStabilizationMs),
      scaleToZeroAfter: msToDuration(s.autoscaling.scaleToZeroAfterMs),
    },
    maintenanceLimit: s.maintenanceLimit,
    acl: { folderIds: [...s.acl.folderIds] },
  };
  if (src.kind === 'checkpoint') {
    proto.checkpoint = {
      checkpointId: src.checkpointId,
      inputVariables: variablesTo(src.inputVariables),
      outputVariables: variablesTo(src.outputVariables),
      environmentImage: src.environmentImage,
    };
  } else {
    const hc = src.healthCheck;
    proto.docker = {
      image: src.image,
      registrySecretId: src.registrySecretId,
      endpoint: {
        type: enumTo(src.endpoint.type, ENDPOINT_TYPE_NUMBERS),
        port: src.endpoint.port,
        timeout: msToDuration(src.endpoint.timeoutMs),
        idleTimeout: msToDuration(src.endpoint.idleTimeoutMs),
      },
      env: src.env,
      envFromSecrets: src.envFromSecrets.map((r) => ({ envName: r.envName, secretId: r.secretId, key: r.key })),
      command: src.command,
      args: src.args,
      telemetry: src.telemetry ? { ...src.telemetry } : undefined,
      healthCheck: {
        type: enumTo(hc.type, HEALTH_TYPE_NUMBERS),
        port: hc.port,
        path: hc.path,
        grpcService: hc.grpcService,
        timeout: msToDuration(hc.timeoutMs),
        interval: msToDuration(hc.intervalMs),
        failsThreshold: hc.failsThreshold,
        passesThreshold: hc.passesThreshold,
      },
      security: {
        user: src.security.user,
        capAdd: [...src.security.capAdd],
        capDrop: [...src.security.capDrop],
        readOnlyRootFilesystem: src.security.readOnlyRootFilesystem,
        tmpfs: src.security.tmpfs.map((m) => ({ path: m.path, sizeBytes: m.sizeBytes })),
      },
    };
  }
  return proto;
}

export function nodeStatusToProto(s: NodeStatus): NodeStatusProto {
  return {
    state: enumTo(s.state, NODE_STATE_NUMBERS),
    reason: s.reason,
    instanceCounts: { ...s.instanceCounts },
    desiredInstances: s.desiredInstances,
    observedGeneration: s.observedGeneration,
    conditions: s.conditions.map((c) => ({ ...c, lastTransitionTime: new Date(c.lastTransitionTime) })),
    timeToHealthy: s.timeToHealthyMs === null ? undefined : msToDuration(s.timeToHealthyMs),
    lastScalingDecision: s.lastScalingDecision,
    lastScalingTime: s.lastScalingTime ? new Date(s.lastScalingTime) : undefined,
    lastWakeDuration: s.lastWake ? msToDuration(s.lastWake.durationMs) : undefined,
    lastWakeTime: s.lastWake ? new Date(s.lastWake.time) : undefined,
  };
}

export function nodeToProto(n: NodeView): NodeProto {
  return {
    id: n.id,
    folderId: n.folderId,
    name: n.name,
    description: n.description,
    labels: n.labels,
    spec: nodeSpecToProto(n.spec),
    status: nodeStatusToProto(n.status),
    generation: n.generation,
    createTime: n.createTime,
    updateTime: n.updateTime,
    etag: etagOf(n.version),
  };
}

export function nodeInputFromProto(p: NodeProto): NodeInput {
  return { folderId: p.folderId, name: p.name, description: p.description, labels: p.labels, spec: nodeSpecFromProto(p.spec) };
}

export function instanceToProto(i: Instance): InstanceProto {
  return {
    id: i.id,
    nodeId: i.nodeId,
    folderId: i.folderId,
    state: enumTo(i.state, INSTANCE_STATE_NUMBERS),
    reason: i.reason,
    runtimeId: i.runtimeId,
    address: i.address,
    startTime: i.startTime ?? undefined,
    restartCount: i.restartCount,
    lastHealthCheck: i.lastHealthCheck
      ? { passed: i.lastHealthCheck.passed, reason: i.lastHealthCheck.reason, time: new Date(i.lastHealthCheck.time) }
      : undefined,
    generation: i.generation,
  };
}

