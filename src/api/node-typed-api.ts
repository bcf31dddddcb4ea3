import { fromBinary, toBinary, type Message } from '@bufbuild/protobuf';
import type { FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { NodeApiNames } from '../domain/node-api-names';
import { nodeProtoSource, type WireValue } from '../domain/variables';
import type { Logger } from '../logger';
import { ValidationError } from '../domain/errors';
import { guard, requestIdOf, type CallContext } from './adapter';
import { BERTH_SERVICES, descriptors } from './descriptors';
import type { ServiceHealth } from './service-health';
import { ReflectionFiles } from './reflection-files';
import { MalformedRequest } from './request-decoding';
import { REFLECTION_SERVICES, serverReflection } from './server-reflection';
import { toServiceError, type StatusError } from './status';
import { TypedMessages, type TypedNode } from './typed-json';

export type { TypedNode } from './typed-json';

/** What callers of a node's typed API run: Execute with JSON inputs, JSON outputs. */
export type ExecuteJson = (nodeId: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, WireValue>>;

interface Registered {
  key: string;
  node: TypedNode;
  file: FileDescriptorProto;
  definition: ServiceDefinition;
  proto: string;
  names: NodeApiNames;
}

/** What the typed services need from the rest of Berth. */
export interface TypedApiDeps {
  server: Server;
  /** grpc.health.v1 of the server: each typed service has a status while its node lives. */
  health: ServiceHealth;
  execute: ExecuteJson;
  log: Logger;
  /** Throws unless the caller with this `authorization` may call the node (as the folder in `x-folder-id`, when sent). */
  authorizeCall(authorization: string | undefined, nodeId: string, viaFolderId?: string): Promise<void>;
  /**
   * Which nodes the caller with this `authorization` may call: reflection
   * shows it only their services. Throws (UNAUTHENTICATED) for a caller
   * without a valid key.
   */
  callableBy(authorization: string | undefined, nodes: TypedNode[]): Promise<Set<string>>;
  /** Whether the node has a healthy instance now. */
  healthy(nodeId: string): boolean;
}

/**
 * The generated gRPC services of checkpoint nodes, registered on the running
 * server while their nodes live, each with its own file in server reflection
 * (next to the compiled control-plane files) and its own grpc.health.v1
 * status, so grpcurl and stubs in any language see each node's typed service.
 */
export class TypedApis {
  private readonly registered = new Map<string, Registered>();
  private readonly files: ReflectionFiles;

  constructor(private readonly deps: TypedApiDeps) {
    const { bytes, registry } = descriptors();
    // Everything the listener serves is listed, grpc.health.v1 and reflection included, as grpcurl expects.
    this.files = new ReflectionFiles(bytes, new Set([...BERTH_SERVICES, 'grpc.health.v1.Health', ...REFLECTION_SERVICES]));
    for (const { definition, implementation } of serverReflection(registry, this.files, (authorization) => this.viewOf(authorization)))
      this.deps.server.addService(definition, implementation);
  }

  /** The registered API of a node, if it has one. */
  get(nodeId: string): { proto: string; package: string; service: string } | undefined {
    const r = this.registered.get(nodeId);
    return r ? { proto: r.proto, package: r.names.package, service: r.names.service } : undefined;
  }

  /** Makes the registered services match the given checkpoint nodes: adds, replaces and removes. */
  sync(nodes: TypedNode[]): void {
    const wanted = new Map(nodes.map((n) => [n.id, n]));
    for (const [id, r] of this.registered) {
      const n = wanted.get(id);
      if (!n || keyOf(n) !== r.key) {
        this.unregister(r);
        this.deps.log.info({ nodeId: id, service: fullName(r) }, 'typed API removed');
      }
    }
    for (const n of nodes) {
      if (this.registered.has(n.id)) continue;
      try {
        this.register(n);
      } catch (err) {
        this.deps.log.error({ err, nodeId: n.id }, 'cannot register the typed API of a node');
      }
    }
  }

  /** The node's instances changed: its typed service is SERVING while one is healthy, NOT_SERVING otherwise. */
  healthChanged(nodeId: string): void {
    const r = this.registered.get(nodeId);
    if (r) this.deps.health.setStatus(fullName(r), this.deps.healthy(nodeId) ? 'SERVING' : 'NOT_SERVING');
  }

  /** Which files the caller may see: all but the typed files of nodes it may not call. */
  private async viewOf(authorization: string | undefined): Promise<(fileName: string) => boolean> {
    const nodes = [...this.registered.values()];
    const callable = await this.deps.callableBy(authorization, nodes.map((r) => r.node));
    const hidden = new Set(nodes.filter((r) => !callable.has(r.node.id)).map((r) => r.file.name));
    return (fileName) => !hidden.has(fileName);
  }

  private unregister(r: Registered): void {
    this.deps.server.removeService(r.definition);
    this.files.remove(r.file.name);
    this.deps.health.forget(fullName(r));
    this.registered.delete(r.node.id);
  }

  private register(node: TypedNode): void {
    const messages = new TypedMessages(node);
    const { file, names, input, output } = messages;
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
        const ctx: CallContext = { requestId, log: this.deps.log.child({ requestId, nodeId: node.id }), signal: controller.signal, headers: {} };
        guard(path, ctx, async () => {
          const header = (name: string) => call.metadata.get(name)[0] as string | undefined;
          await this.deps.authorizeCall(header('authorization'), node.id, header('x-folder-id'));
          if (call.request instanceof MalformedRequest) throw call.request.error;
          const outputs = await this.deps.execute(node.id, messages.inputsOf(call.request as Message), controller.signal);
          return messages.responseOf(node.id, outputs);
        }).then(
          (response) => callback(null, response),
          (err: StatusError) => callback(toServiceError(err)),
        );
      },
    };
    this.deps.server.addService(definition, impl);
    const proto = nodeProtoSource(node);
    const registered: Registered = { key: keyOf(node), node, file, definition, proto, names };
    this.registered.set(node.id, registered);
    this.files.add(file);
    this.healthChanged(node.id);
    this.deps.log.info({ nodeId: node.id, service: `${names.package}.${names.service}` }, 'typed API registered');
  }

  close(): void {
    for (const r of [...this.registered.values()]) this.unregister(r);
  }
}

const fullName = (r: Registered): string => `${r.names.package}.${r.names.service}`;

/** A node's API changes with its folder's name and its own (the package and service) and its declared variables. */
function keyOf(n: TypedNode): string {
  return JSON.stringify([n.folderName, n.name, n.source.inputVariables, n.source.outputVariables]);
}
