import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { call, connect, type BerthClient } from '../client';
import type { Alias } from '../../gen/berth/v1/alias';
import type { Checkpoint } from '../../gen/berth/v1/checkpoint';
import type { Folder } from '../../gen/berth/v1/folder';
import type { Node } from '../../gen/berth/v1/node';
import type { Secret } from '../../gen/berth/v1/secret';
import { CliError, isServiceError } from './cli-errors';
import { defaultNodeApi, resolveContext, type ResolvedContext } from './contexts';

/** Options every command takes (the program's global options). */
export interface GlobalOptions {
  context?: string;
  folder?: string;
  output?: string;
}

const PAGE = 1000;

/** Reads every page of a List method. */
export async function listAll<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = '';
  for (let i = 0; i < 10_000; i++) {
    const { items, next } = await page(token);
    all.push(...items);
    if (!next) return all;
    token = next;
  }
  return all;
}

export function notFound(err: unknown): boolean {
  return isServiceError(err) && err.code === status.NOT_FOUND;
}

/**
 * One command's connection to Berth: the resolved context, the clients
 * (dialled on first use), and the look-ups of resources by name that most
 * commands start with.
 */
export class Session {
  readonly context: ResolvedContext;
  private client?: BerthClient;
  private folderIdCache?: string;

  constructor(readonly options: GlobalOptions) {
    this.context = resolveContext(options.context);
  }

  get berth(): BerthClient {
    if (!this.client) {
      const { server, key, ca, tls } = this.context;
      this.client = connect({ address: server, apiKey: key, tls: ca ? { ca: readFileSync(ca) } : tls === true });
    }
    return this.client;
  }

  get nodeApi(): string {
    return this.context.nodeApi ?? defaultNodeApi(this.context.server);
  }

  close(): void {
    this.client?.close();
  }

  /** The folder named by `--folder`, the context, or `default`: an id or a name. */
  get folderRef(): string {
    return this.options.folder ?? this.context.folder ?? 'default';
  }

  /** The id of the folder commands act in (`--folder` takes an id or a name). */
  async folderId(): Promise<string> {
    this.folderIdCache ??= (await this.findFolder(this.folderRef)).id;
    return this.folderIdCache;
  }

  async findFolder(ref: string): Promise<Folder> {
    try {
      return await call(this.berth.folders, 'getFolder', { folderId: ref });
    } catch (err) {
      if (!notFound(err)) throw err;
    }
    const folders = await listAll(async (pageToken) => {
      const r = await call(this.berth.folders, 'listFolders', { pageSize: PAGE, pageToken, filter: '' });
      return { items: r.folders, next: r.nextPageToken };
    });
    const found = folders.find((f) => f.name === ref);
    if (!found) throw new CliError(`no folder ${JSON.stringify(ref)}`);
    return found;
  }

  async listNodes(): Promise<Node[]> {
    const folderId = await this.folderId();
    return listAll(async (pageToken) => {
      const r = await call(this.berth.nodes, 'listNodes', { folderId, pageSize: PAGE, pageToken, filter: '' });
      return { items: r.nodes, next: r.nextPageToken };
    });
  }

  async listAliases(): Promise<Alias[]> {
    const folderId = await this.folderId();
    return listAll(async (pageToken) => {
      const r = await call(this.berth.aliases, 'listAliases', { folderId, pageSize: PAGE, pageToken, filter: '' });
      return { items: r.aliases, next: r.nextPageToken };
    });
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    const folderId = await this.folderId();
    return listAll(async (pageToken) => {
      const r = await call(this.berth.checkpoints, 'listCheckpoints', { folderId, pageSize: PAGE, pageToken, filter: '' });
      return { items: r.checkpoints, next: r.nextPageToken };
    });
  }

  async listSecrets(): Promise<Secret[]> {
    const folderId = await this.folderId();
    return listAll(async (pageToken) => {
      const r = await call(this.berth.secrets, 'listSecrets', { folderId, pageSize: PAGE, pageToken, filter: '' });
      return { items: r.secrets, next: r.nextPageToken };
    });
  }

  /** A node of the folder by name, or any node by id. */
  async findNode(ref: string): Promise<Node> {
    return this.byNameOrId('node', ref, () => this.listNodes(), (nodeId) => call(this.berth.nodes, 'getNode', { nodeId }));
  }

  async findAlias(ref: string): Promise<Alias> {
    return this.byNameOrId('alias', ref, () => this.listAliases(), (aliasId) => call(this.berth.aliases, 'getAlias', { aliasId }));
  }

  async findCheckpoint(ref: string): Promise<Checkpoint> {
    return this.byNameOrId('checkpoint', ref, () => this.listCheckpoints(), (checkpointId) => call(this.berth.checkpoints, 'getCheckpoint', { checkpointId }));
  }

  async findSecret(ref: string): Promise<Secret> {
    return this.byNameOrId('secret', ref, () => this.listSecrets(), (secretId) => call(this.berth.secrets, 'getSecret', { secretId }));
  }

  private async byNameOrId<T extends { id: string; name: string }>(
    kind: string,
    ref: string,
    list: () => Promise<T[]>,
    get: (id: string) => Promise<T>,
  ): Promise<T> {
    const byName = (await list()).find((r) => r.name === ref || r.id === ref);
    if (byName) return byName;
    try {
      return await get(ref);
    } catch (err) {
      if (notFound(err) || (isServiceError(err) && err.code === status.INVALID_ARGUMENT)) {
        throw new CliError(`no ${kind} ${JSON.stringify(ref)} in folder ${JSON.stringify(this.folderRef)}`);
      }
      throw err;
    }
  }
}
