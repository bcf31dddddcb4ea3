import { fromBinary, toBinary, type Message } from '@bufbuild/protobuf';
import type { FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { Metadata, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { NodeApiNames } from '../domain/node-api-names';
import type { AliasTarget } from '../domain/alias';
import type { TypedAlias, TypedNode } from '../domain/typed-api';
import { aliasProtoSource, nodeProtoSource, type WireValue } from '../domain/variables';
import type { Logger } from '../logger';
import { ValidationError } from '../domain/errors';
import { guard, headersOf, observeUnary, requestIdOf, type CallContext } from './adapter';
import type { Observability } from '../observability/observability';
import { currentCall } from '../observability/observed-call';
import { BERTH_SERVICES, descriptors } from './descriptors';
import type { ServiceHealth } from './service-health';
import { ReflectionFiles } from './reflection-files';
import { MalformedRequest } from './request-decoding';
import { REFLECTION_SERVICES, serverReflection } from './server-reflection';
import { TypedMessages } from './typed-json';

export type { TypedAlias, TypedNode } from '../domain/typed-api';

/** What callers of a node's typed API run: Execute with JSON inputs, JSON outputs. */
export type ExecuteJson = (nodeId: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, WireValue>>;

/** A call through an alias: the outputs and the node the alias picked. */
export type ExecuteAliasJson = (aliasId: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<{ outputs: Record<string, WireValue>; nodeId: string }>;

/** An alias with a typed API: its own shape, and the targets it had when last synced (for its health status). */
export interface TypedAliasEntry extends TypedAlias {
  targets: AliasTarget[];
}

/** Whose typed service it is: a node's or an alias's. */
export type TypedSubject = { kind: 'node'; node: TypedNode } | { kind: 'alias'; alias: TypedAliasEntry };

interface Registered {
  /** `node:<id>` or `alias:<id>`. */
  id: string;
  key: string;
  subject: TypedSubject;
  file: FileDescriptorProto;
  definition: ServiceDefinition;
  proto: string;
  names: NodeApiNames;
}

/** What the typed services need from the rest of Berth. */
export interface TypedApiDeps {
  server: Server;
  /** grpc.health.v1 of the server: each typed service has a status while its node or alias lives. */
  health: ServiceHealth;
  execute: ExecuteJson;
  executeAlias: ExecuteAliasJson;
  log: Logger;
  /** Throws unless the caller with this `authorization` may call the node (as the folder in `x-folder-id`, when sent). */
  authorizeCall(authorization: string | undefined, nodeId: string, viaFolderId?: string): Promise<void>;
  /** Throws unless the caller with this `authorization` may call through the alias. */
  authorizeAliasCall(authorization: string | undefined, alias: TypedAlias): Promise<void>;
  /**
   * Which of these nodes and aliases the caller with this `authorization`
   * may call (their `node:<id>` and `alias:<id>`): reflection shows it only
   * their services. Throws (UNAUTHENTICATED) for a caller without a valid key.
   */
  callableBy(authorization: string | undefined, subjects: TypedSubject[]): Promise<Set<string>>;
  /** Whether the node has a healthy instance now. */
  healthy(nodeId: string): boolean;
  /** The access log and traces of the calls. */
  observability?: Observability;
}

const idOf = (s: TypedSubject): string => (s.kind === 'node' ? `node:${s.node.id}` : `alias:${s.alias.id}`);

/**
 * The generated gRPC services of checkpoint nodes and of the aliases in
 * front of them, registered on the running server while they live, each with
 * its own file in server reflection (next to the compiled control-plane
 * files) and its own grpc.health.v1 status, so grpcurl and stubs in any
 * language see each typed service. An alias's service stays registered as it
 * is while the alias switches between compatible nodes: each call picks its
 * node afresh.
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
    return this.view(`node:${nodeId}`);
  }

  /**
   * The node as its registered typed service serves it (as of the last sync),
   * if it has one: what the typed gRPC service calls with, read from no database.
   */
  node(nodeId: string): TypedNode | undefined {
    const subject = this.registered.get(`node:${nodeId}`)?.subject;
    return subject?.kind === 'node' ? subject.node : undefined;
  }

  /** The registered API of an alias, if it has one. */
  getAlias(aliasId: string): { proto: string; package: string; service: string } | undefined {
    return this.view(`alias:${aliasId}`);
  }

  private view(id: string): { proto: string; package: string; service: string } | undefined {
    const r = this.registered.get(id);
    return r ? { proto: r.proto, package: r.names.package, service: r.names.service } : undefined;
  }

  /** Makes the registered services match the given checkpoint nodes and aliases: adds, replaces and removes. */
  sync(nodes: TypedNode[], aliases: TypedAliasEntry[] = []): void {
    const subjects: TypedSubject[] = [...nodes.map((node) => ({ kind: 'node' as const, node })), ...aliases.map((alias) => ({ kind: 'alias' as const, alias }))];
    const wanted = new Map(subjects.map((s) => [idOf(s), s]));
    for (const [id, r] of this.registered) {
      const s = wanted.get(id);
      if (!s || keyOf(s) !== r.key) {
        this.unregister(r);
        this.deps.log.info({ subject: id, service: fullName(r) }, 'typed API removed');
      } else if (s.kind === 'alias') {
        // Same API, maybe other targets: its health follows them.
        r.subject = s;
        this.refreshHealth(r);
      }
    }
    for (const s of subjects) {
      if (this.registered.has(idOf(s))) continue;
      try {
        this.register(s);
      } catch (err) {
        this.deps.log.error({ err, subject: idOf(s) }, 'cannot register a typed API');
      }
    }
  }

  /**
   * The node's instances changed: its typed service, and those of the aliases
   * pointing to it, are SERVING while a node they call has a healthy
   * instance, NOT_SERVING otherwise.
   */
  healthChanged(nodeId: string): void {
    const own = this.registered.get(`node:${nodeId}`);
    if (own) this.refreshHealth(own);
    for (const r of this.registered.values())
      if (r.subject.kind === 'alias' && r.subject.alias.targets.some((t) => t.nodeId === nodeId)) this.refreshHealth(r);
  }

  private refreshHealth(r: Registered): void {
    const s = r.subject;
    const serving = s.kind === 'node' ? this.deps.healthy(s.node.id) : s.alias.targets.some((t) => t.weight > 0 && this.deps.healthy(t.nodeId));
    this.deps.health.setStatus(fullName(r), serving ? 'SERVING' : 'NOT_SERVING');
  }

  /** Which files the caller may see: all but the typed files of nodes and aliases it may not call. */
  private async viewOf(authorization: string | undefined): Promise<(fileName: string) => boolean> {
    const all = [...this.registered.values()];
    const callable = await this.deps.callableBy(authorization, all.map((r) => r.subject));
    const hidden = new Set(all.filter((r) => !callable.has(r.id)).map((r) => r.file.name));
    return (fileName) => !hidden.has(fileName);
  }

  private unregister(r: Registered): void {
    this.deps.server.removeService(r.definition);
    this.files.remove(r.file.name);
    this.deps.health.forget(fullName(r));
    this.registered.delete(r.id);
  }

  private register(subject: TypedSubject): void {
    const messages = subject.kind === 'node' ? TypedMessages.of(subject.node) : TypedMessages.ofAlias(subject.alias);
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
    const id = idOf(subject);
    const logFields = subject.kind === 'node' ? { nodeId: subject.node.id } : { aliasId: subject.alias.id };
    const impl: UntypedServiceImplementation = {
      Execute: (call: any, callback: any) => {
        const requestId = requestIdOf(call.metadata.get('x-request-id')[0] as string | undefined);
        const controller = new AbortController();
        call.on('cancelled', () => controller.abort());
        const ctx: CallContext = { requestId, log: this.deps.log.child({ requestId, ...logFields }), signal: controller.signal, headers: {}, transport: 'grpc' };
        const run = () => guard(path, ctx, async () => {
          currentCall()?.noteSubject(logFields);
          const header = (name: string) => call.metadata.get(name)[0] as string | undefined;
          if (subject.kind === 'node') await this.deps.authorizeCall(header('authorization'), subject.node.id, header('x-folder-id'));
          else await this.deps.authorizeAliasCall(header('authorization'), subject.alias);
          if (call.request instanceof MalformedRequest) throw call.request.error;
          const inputs = messages.inputsOf(call.request as Message);
          if (subject.kind === 'node') return messages.responseOf(subject.node.id, await this.deps.execute(subject.node.id, inputs, controller.signal));
          const { outputs, nodeId } = await this.deps.executeAlias(subject.alias.id, inputs, controller.signal);
          // Which node answered, as ExecuteAlias tells it in its response.
          call.sendMetadata(metadataOf(nodeId));
          return messages.responseOf(nodeId, outputs);
        });
        observeUnary(this.deps.observability, requestId, headersOf(call.metadata), path, callback, run);
      },
    };
    this.deps.server.addService(definition, impl);
    const proto = subject.kind === 'node' ? nodeProtoSource(subject.node) : aliasProtoSource(subject.alias);
    const registered: Registered = { id, key: keyOf(subject), subject, file, definition, proto, names };
    this.registered.set(id, registered);
    this.files.add(file);
    this.refreshHealth(registered);
    this.deps.log.info({ ...logFields, service: `${names.package}.${names.service}` }, 'typed API registered');
  }

  close(): void {
    for (const r of [...this.registered.values()]) this.unregister(r);
  }
}

const fullName = (r: Registered): string => `${r.names.package}.${r.names.service}`;

/** The initial metadata of an alias call: the node that answered. */
function metadataOf(nodeId: string): Metadata {
  const m = new Metadata();
  m.set('x-berth-node-id', nodeId);
  return m;
}

/**
 * A node's API changes with its folder's name and its own (the package and
 * service) and its declared variables; an alias's with its folder's and its
 * own name and its targets' variables (not with the targets themselves).
 */
function keyOf(s: TypedSubject): string {
  if (s.kind === 'node') return JSON.stringify(['node', s.node.folderName, s.node.name, s.node.source.inputVariables, s.node.source.outputVariables]);
  return JSON.stringify(['alias', s.alias.folderName, s.alias.name, s.alias.inputs, s.alias.outputs]);
}
