import {
  create,
  createFileRegistry,
  fromBinary,
  toBinary,
  toJson,
  fromJson,
  type DescMessage,
  type JsonValue,
  type Message,
} from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import path from 'node:path';
import { loadFileDescriptorSetFromBuffer, loadSync } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { CheckpointSource, Variable } from '../domain/node';
import { nodeApiNames, nodeProtoSource, protoTypeOf, type WireValue } from '../domain/variables';
import type { Logger } from '../logger';
import { ValidationError } from '../domain/errors';
import { guard, requestIdOf, type CallContext } from './adapter';
import { descriptors } from './descriptors';
import { MalformedRequest } from './request-decoding';
import { toServiceError, toStatusError, type StatusError } from './status';

/** The reflection service's bidi stream, as far as filtering it is concerned. */
type ReflectionHandler = (stream: {
  metadata: { get(key: string): unknown[] };
  write(message: unknown): boolean;
  emit(event: 'error', err: { code: number; details: string }): boolean;
}) => void;

interface ReflectionResponse {
  originalRequest?: { fileContainingSymbol?: string; fileByFilename?: string };
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: unknown;
  errorResponse?: { errorCode: number; errorMessage: string };
}

/** A checkpoint node as far as its generated API is concerned. */
export interface TypedNode {
  id: string;
  name: string;
  folderId: string;
  source: CheckpointSource;
}

/** What callers of a node's typed API run: Execute with JSON inputs, JSON outputs. */
export type ExecuteJson = (nodeId: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, WireValue>>;

interface Registered {
  key: string;
  node: TypedNode;
  file: FileDescriptorProto;
  definition: ServiceDefinition;
  proto: string;
  names: { package: string; service: string };
}

const SCALAR: Record<string, FieldDescriptorProto_Type> = {
  int64: FieldDescriptorProto_Type.INT64,
  double: FieldDescriptorProto_Type.DOUBLE,
  string: FieldDescriptorProto_Type.STRING,
  bool: FieldDescriptorProto_Type.BOOL,
  bytes: FieldDescriptorProto_Type.BYTES,
};

function fieldsOf(vars: Variable[]) {
  return vars.map((v, i) => {
    const t = protoTypeOf(v.type);
    const message = t.type.startsWith('google.');
    return {
      name: v.name,
      number: i + 1,
      label: t.repeated ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
      type: message ? FieldDescriptorProto_Type.MESSAGE : SCALAR[t.type]!,
      typeName: message ? `.${t.type}` : '',
      jsonName: v.name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    };
  });
}

/** The descriptor of a node's typed API, built from its declared variables (the same shape as its `.proto`). */
export function nodeFileDescriptor(node: TypedNode): FileDescriptorProto {
  const names = nodeApiNames(node.id, node.name);
  const all = [...node.source.inputVariables, ...node.source.outputVariables];
  return create(FileDescriptorProtoSchema, {
    name: `berth/nodes/${node.id}.proto`,
    package: names.package,
    syntax: 'proto3',
    dependency: all.some((v) => v.type === 'list' || v.type === 'dict') ? ['google/protobuf/struct.proto'] : [],
    messageType: [
      { name: 'ExecuteRequest', field: fieldsOf(node.source.inputVariables) },
      { name: 'ExecuteResponse', field: fieldsOf(node.source.outputVariables) },
    ],
    service: [
      {
        name: names.service,
        method: [{ name: 'Execute', inputType: `.${names.package}.ExecuteRequest`, outputType: `.${names.package}.ExecuteResponse` }],
      },
    ],
  });
}

/**
 * The generated gRPC services of checkpoint nodes, registered on the running
 * server while their nodes live, and server reflection over the control plane
 * plus all of them (rebuilt when the set changes), so grpcurl and stubs in any
 * language see each node's typed service.
 */
export class TypedApis {
  private readonly registered = new Map<string, Registered>();
  private reflectionDefinitions: ServiceDefinition[] = [];

  constructor(
    private readonly server: Server,
    private readonly execute: ExecuteJson,
    private readonly log: Logger,
    /** Throws unless the caller with this `authorization` may call the node (as the folder in `x-folder-id`, when sent). */
    private readonly authorizeCall: (authorization: string | undefined, nodeId: string, viaFolderId?: string) => Promise<void>,
    /**
     * Which nodes the caller with this `authorization` may call: reflection
     * shows it only their services. Throws (UNAUTHENTICATED) for a caller
     * without a valid key.
     */
    private readonly callableBy: (authorization: string | undefined, nodes: TypedNode[]) => Promise<Set<string>>,
  ) {
    this.rebuildReflection();
  }

  /** The registered API of a node, if it has one. */
  get(nodeId: string): { proto: string; package: string; service: string } | undefined {
    const r = this.registered.get(nodeId);
    return r ? { proto: r.proto, package: r.names.package, service: r.names.service } : undefined;
  }

  /** Makes the registered services match the given checkpoint nodes: adds, replaces and removes. */
  sync(nodes: TypedNode[]): void {
    let changed = false;
    const wanted = new Map(nodes.map((n) => [n.id, n]));
    for (const [id, r] of this.registered) {
      const n = wanted.get(id);
      if (!n || keyOf(n) !== r.key) {
        this.server.removeService(r.definition);
        this.registered.delete(id);
        changed = true;
        this.log.info({ nodeId: id, service: `${r.names.package}.${r.names.service}` }, 'typed API removed');
      }
    }
    for (const n of nodes) {
      if (this.registered.has(n.id)) continue;
      try {
        this.register(n);
        changed = true;
      } catch (err) {
        this.log.error({ err, nodeId: n.id }, 'cannot register the typed API of a node');
      }
    }
    if (changed) this.rebuildReflection();
  }

  private register(node: TypedNode): void {
    const file = nodeFileDescriptor(node);
    const { registry: base } = descriptors();
    const registry = createFileRegistry(file, (name) => base.getFile(name));
    const names = nodeApiNames(node.id, node.name);
    const input = registry.getMessage(`${names.package}.ExecuteRequest`) as DescMessage;
    const output = registry.getMessage(`${names.package}.ExecuteResponse`) as DescMessage;
    const path = `/${names.package}.${names.service}/Execute`;
    const definition: ServiceDefinition = {
      Execute: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: Message) => Buffer.from(toBinary(input, m)),
        // Never throws (grpc-js would answer INTERNAL): a bad request reaches the adapter and is refused there.
        requestDeserialize: (b: Buffer) => {
          try {
            return fromBinary(input, b);
          } catch (err) {
            return new MalformedRequest(ValidationError.of('request', `is not a valid ${input.typeName} in protobuf binary form: ${(err as Error).message}`));
          }
        },
        responseSerialize: (m: Message) => Buffer.from(toBinary(output, m)),
        responseDeserialize: (b: Buffer) => fromBinary(output, b),
        originalName: 'execute',
      },
    };
    const impl: UntypedServiceImplementation = {
      Execute: (call: any, callback: any) => {
        const requestId = requestIdOf(call.metadata.get('x-request-id')[0] as string | undefined);
        const controller = new AbortController();
        call.on('cancelled', () => controller.abort());
        const ctx: CallContext = { requestId, log: this.log.child({ requestId, nodeId: node.id }), signal: controller.signal, headers: {} };
        guard(path, ctx, async () => {
          const header = (name: string) => call.metadata.get(name)[0] as string | undefined;
          await this.authorizeCall(header('authorization'), node.id, header('x-folder-id'));
          if (call.request instanceof MalformedRequest) throw call.request.error;
          const json = toJson(input, call.request as Message, { useProtoFieldName: true, alwaysEmitImplicit: true, registry: base }) as Record<string, unknown>;
          const outputs = await this.execute(node.id, json, controller.signal);
          return fromJson(output, outputs as JsonValue, { ignoreUnknownFields: true, registry: base });
        }).then(
          (response) => callback(null, response),
          (err: StatusError) => callback(toServiceError(err)),
        );
      },
    };
    this.server.addService(definition, impl);
    const proto = nodeProtoSource(node);
    this.registered.set(node.id, { key: keyOf(node), node, file, definition, proto, names });
    this.log.info({ nodeId: node.id, service: `${names.package}.${names.service}` }, 'typed API registered');
  }

  private rebuildReflection(): void {
    for (const d of this.reflectionDefinitions) this.server.removeService(d);
    this.reflectionDefinitions = [];
    const { set } = descriptors();
    const merged = create(FileDescriptorSetSchema, { file: [...set.file, ...[...this.registered.values()].map((r) => r.file)] });
    // Reflection describes all that the listener serves, grpc.health.v1 included, so that grpcurl lists it.
    const health = loadSync('health/v1/health.proto', { includeDirs: [path.resolve(healthProtoPath, '..', '..', '..')] });
    const pkg = { ...loadFileDescriptorSetFromBuffer(Buffer.from(toBinary(FileDescriptorSetSchema, merged))), ...health };
    new ReflectionService(pkg).addToServer({
      addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) => {
        this.server.addService(definition, { ServerReflectionInfo: this.filteredReflection(impl.ServerReflectionInfo as ReflectionHandler) });
        this.reflectionDefinitions.push(definition);
      },
    });
  }

  /**
   * Reflection as the caller may see it: the typed services of nodes it may
   * not call are not listed, and their files and symbols are not found. A
   * caller without a valid key gets UNAUTHENTICATED.
   */
  private filteredReflection(inner: ReflectionHandler): ReflectionHandler {
    return (stream) => {
      const nodes = [...this.registered.values()];
      this.callableBy(stream.metadata.get('authorization')[0] as string | undefined, nodes.map((r) => r.node)).then(
        (callable) => {
          const hidden = nodes.filter((r) => !callable.has(r.node.id));
          const packages = new Set(hidden.map((r) => r.names.package));
          const files = new Set(hidden.map((r) => r.file.name));
          const hiddenSymbol = (symbol: string) => [...packages].some((p) => symbol === p || symbol.startsWith(`${p}.`));
          const write = stream.write.bind(stream) as (message: ReflectionResponse) => boolean;
          (stream as { write: unknown }).write = (message: ReflectionResponse) => {
            const request = message.originalRequest ?? {};
            if (message.listServicesResponse)
              message.listServicesResponse.service = message.listServicesResponse.service.filter((s) => !hiddenSymbol(s.name));
            else if ((request.fileContainingSymbol && hiddenSymbol(request.fileContainingSymbol)) || (request.fileByFilename && files.has(request.fileByFilename))) {
              delete message.fileDescriptorResponse;
              message.errorResponse = { errorCode: 5, errorMessage: `not found: ${request.fileContainingSymbol ?? request.fileByFilename}` };
            }
            return write(message);
          };
          inner(stream);
        },
        (err: unknown) => {
          const status = toStatusError(err);
          stream.emit('error', { code: status.code, details: status.message });
        },
      );
    };
  }

  close(): void {
    for (const r of this.registered.values()) this.server.removeService(r.definition);
    this.registered.clear();
  }
}

/** A node's API changes with its name (the service name) and its declared variables. */
function keyOf(n: TypedNode): string {
  return JSON.stringify([n.name, n.source.inputVariables, n.source.outputVariables]);
}
