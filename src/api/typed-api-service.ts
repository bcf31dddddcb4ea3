import type { Server } from '@grpc/grpc-js';
import type { Aliases } from '../control/aliases';
import type { Authenticator } from '../control/authenticator';
import type { CallAccess } from '../control/call-access';
import type { Nodes } from '../control/nodes';
import type { CheckpointSource } from '../domain/node';
import type { WireValue } from '../domain/variables';
import type { Logger } from '../logger';
import type { Observability } from '../observability/observability';
import { aliasTargetOf, type FolderName, type RunCall } from './node-service';
import { TypedApis, type TypedAliasEntry, type TypedNode } from './node-typed-api';
import type { ServiceHealth } from './service-health';

export interface TypedApiServiceDeps {
  server: Server;
  health: ServiceHealth;
  nodes: Nodes;
  aliases: Aliases;
  folderName: FolderName;
  run: RunCall;
  calls: CallAccess;
  authenticator: Authenticator;
  /** Throws unless the caller with this `authorization` may call the node (as `viaFolderId`, when given). */
  authorizeNodeCall(authorization: string | undefined, nodeId: string, viaFolderId?: string): Promise<void>;
  /** Whether the node has a healthy instance now. */
  healthy(nodeId: string): boolean;
  log: Logger;
  /** How often the services are synced with the database when nothing here told of a change. */
  resyncMs: number;
  /** The access log and traces of the calls. */
  observability?: Observability;
}

/**
 * The typed gRPC services of checkpoint nodes and their aliases, kept in
 * step with the database: synced when this process changes a node or an
 * alias, and every `resyncMs` for changes other processes made.
 */
export class TypedApiService {
  readonly apis: TypedApis;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: TypedApiServiceDeps) {
    this.apis = new TypedApis({
      server: deps.server,
      health: deps.health,
      execute: deps.run,
      executeAlias: (aliasId, input, signal) => this.runAlias(aliasId, input, signal),
      log: deps.log,
      authorizeCall: deps.authorizeNodeCall,
      authorizeAliasCall: async (authorization, alias) =>
        deps.calls.alias(await deps.authenticator.authenticate(authorization), alias.folderId, alias.name),
      callableBy: async (authorization, subjects) => {
        const caller = await deps.authenticator.authenticate(authorization);
        const allowed = await Promise.all(
          subjects.map((s) =>
            (s.kind === 'node' ? deps.calls.mayCall(caller, s.node.id, undefined) : deps.calls.mayCallAlias(caller, s.alias.folderId, s.alias.name)).then(
              () => true,
              () => false,
            ),
          ),
        );
        return new Set(subjects.filter((_, i) => allowed[i]).map((s) => (s.kind === 'node' ? `node:${s.node.id}` : `alias:${s.alias.id}`)));
      },
      healthy: deps.healthy,
      observability: deps.observability,
    });
  }

  /** One call through the alias, on the node it picks by weight now: the outputs and that node. */
  async runAlias(aliasId: string, input: Record<string, unknown>, signal: AbortSignal): Promise<{ outputs: Record<string, WireValue>; nodeId: string }> {
    const nodeId = aliasTargetOf(await this.deps.aliases.get(aliasId));
    return { outputs: await this.deps.run(nodeId, input, signal), nodeId };
  }

  /** Syncs now and then every `resyncMs`. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => void this.sync(), this.deps.resyncMs);
  }

  /**
   * Makes the services match the checkpoint nodes and aliases in the
   * database. A change during a sync runs one more after it, since the
   * running one may have read them before the change.
   */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = this.read()
      .then(({ nodes, aliases }) => this.apis.sync(nodes, aliases))
      .catch((err: unknown) => this.deps.log.error({ err }, 'cannot sync the typed APIs'))
      .finally(() => {
        this.syncing = undefined;
        if (this.syncAgain) {
          this.syncAgain = false;
          void this.sync();
        }
      });
    return this.syncing;
  }

  private async read(): Promise<{ nodes: TypedNode[]; aliases: TypedAliasEntry[] }> {
    const [list, aliasList] = await Promise.all([this.deps.nodes.checkpointNodes(), this.deps.aliases.all()]);
    const byId = new Map(list.map((n) => [n.id, n]));
    const folderIds = new Set([...list.map((n) => n.folderId), ...aliasList.map((a) => a.folderId)]);
    const names = new Map(await Promise.all([...folderIds].map(async (id) => [id, await this.deps.folderName(id)] as const)));
    const nodes = list.map((n) => ({ id: n.id, name: n.name, folderId: n.folderId, folderName: names.get(n.folderId)!, source: n.spec.source as CheckpointSource }));
    // An alias's targets share their inputs and outputs (checked at every change): the first one tells them.
    const aliases = aliasList.flatMap((a) => {
      const first = byId.get(a.targets[0]?.nodeId ?? '');
      if (!first) return [];
      const source = first.spec.source as CheckpointSource;
      return [{ id: a.id, name: a.name, folderId: a.folderId, folderName: names.get(a.folderId)!, inputs: source.inputVariables, outputs: source.outputVariables, targets: a.targets }];
    });
    return { nodes, aliases };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.apis.close();
  }
}
