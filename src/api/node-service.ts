import { NodeServiceService } from '../../gen/berth/v1/node_service';
import type { Aliases } from '../control/aliases';
import type { Nodes } from '../control/nodes';
import { FailedPreconditionError, UnavailableError, ValidationError } from '../domain/errors';
import { initialNodeStatus } from '../domain/node';
import type { ServiceHandlers } from './adapter';
import { required } from './common.mapper';
import { applyFieldMask } from './field-mask';
import { instanceToProto, nodeInputFromProto, nodeToProto } from './node.mapper';
import { operationView } from './operation-view';
import { nodeOpenApi } from './node-openapi';
import type { TypedAliasEntry, TypedNode } from './node-typed-api';
import { pickTarget, type Alias } from '../domain/alias';
import { nodeProtoSource, type WireValue } from '../domain/variables';
import { nodeApiNames } from '../domain/node-api-names';
import { noteAlias } from '../observability/call-scope';

/** What Execute runs: one call of a checkpoint node with JSON inputs (see CheckpointExecutor.run). */
export type RunCall = (nodeId: string, input: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, WireValue>>;

/** The name of the folder with this id (its generated APIs' packages hold it). */
export type FolderName = (folderId: string) => Promise<string>;

/** A checkpoint node as its generated API sees it; FAILED_PRECONDITION for a Docker node. */
export async function typedNodeOf(nodes: Nodes, folderName: FolderName, nodeId: string): Promise<TypedNode> {
  const node = await nodes.get(nodeId);
  if (node.spec.source.kind !== 'checkpoint')
    throw new FailedPreconditionError(`node ${nodeId} is a Docker node; it serves its image's own API through the node API`, `nodes/${nodeId}`);
  return { id: node.id, name: node.name, folderId: node.folderId, folderName: await folderName(node.folderId), source: node.spec.source };
}

/**
 * An alias in front of checkpoint nodes as its generated API sees it: the
 * inputs and outputs its targets share (checked whenever they change);
 * FAILED_PRECONDITION for an alias of Docker nodes.
 */
export async function typedAliasOf(aliases: Aliases, nodes: Nodes, folderName: FolderName, aliasId: string): Promise<TypedAliasEntry> {
  const alias = await aliases.get(aliasId);
  const first = await nodes.get(alias.targets[0]!.nodeId);
  if (first.spec.source.kind !== 'checkpoint')
    throw new FailedPreconditionError(`alias ${aliasId} points to Docker nodes; it serves their image's own API through the node API (x-node-alias)`, `aliases/${aliasId}`);
  const { inputVariables: inputs, outputVariables: outputs } = first.spec.source;
  return { id: alias.id, name: alias.name, folderId: alias.folderId, folderName: await folderName(alias.folderId), inputs, outputs, targets: alias.targets };
}

/** The node an alias sends a call to, picked by weight. */
export function aliasTargetOf(alias: Pick<Alias, 'folderId' | 'name' | 'targets'>): string {
  const target = pickTarget(alias.targets, Math.random());
  if (!target) throw new UnavailableError(`alias ${JSON.stringify(alias.name)} has no target with weight`);
  noteAlias(alias.folderId, alias.name);
  return target.nodeId;
}

/** NodeService's methods but those of logs and events (see `node-log-service.ts`). */
export function nodeService(
  nodes: Nodes,
  aliases: Aliases,
  run: RunCall,
  folderName: FolderName,
): Omit<ServiceHandlers<typeof NodeServiceService>, 'listNodeLogs' | 'streamNodeLogs' | 'listNodeEvents'> {
  return {
    async createNode(req) {
      if (!req.node) throw ValidationError.of('node', 'is required');
      return operationView(await nodes.create(nodeInputFromProto(req.node)), nodes);
    },
    async getNode(req) {
      return nodeToProto(await nodes.get(required(req.nodeId, 'node_id')));
    },
    async listNodes(req) {
      const page = await nodes.list(required(req.folderId, 'folder_id'), req, req.filter);
      return { nodes: page.items.map(nodeToProto), nextPageToken: page.nextPageToken };
    },
    async updateNode(req) {
      const patch = req.node;
      if (!patch) throw ValidationError.of('node', 'is required');
      const updated = await nodes.update(
        required(patch.id, 'node.id'),
        (current) => {
          const currentProto = nodeToProto({ ...current, ...PLACEHOLDER, id: patch.id });
          return nodeInputFromProto(applyFieldMask('berth.v1.Node', currentProto, patch, req.updateMask ?? []));
        },
        patch.etag || undefined,
      );
      return nodeToProto(updated);
    },
    async deleteNode(req) {
      return operationView(await nodes.delete(required(req.nodeId, 'node_id'), req.etag || undefined), nodes);
    },
    async suspendNode(req) {
      return operationView(await nodes.setSuspended(required(req.nodeId, 'node_id'), true), nodes);
    },
    async resumeNode(req) {
      return operationView(await nodes.setSuspended(required(req.nodeId, 'node_id'), false), nodes);
    },
    async listInstances(req) {
      const page = await nodes.listInstances(required(req.nodeId, 'node_id'), req);
      return { instances: page.items.map(instanceToProto), nextPageToken: page.nextPageToken };
    },
    async getNodeApi(req) {
      const node = await typedNodeOf(nodes, folderName, required(req.nodeId, 'node_id'));
      const names = nodeApiNames(node.folderName, node.name);
      return {
        nodeId: node.id,
        protoFile: nodeProtoSource(node),
        package: names.package,
        service: `${names.package}.${names.service}`,
        openapiJson: JSON.stringify(nodeOpenApi(node)),
      };
    },
    async execute(req, ctx) {
      return { output: await run(required(req.nodeId, 'node_id'), req.input ?? {}, ctx.signal) };
    },
    async executeAlias(req, ctx) {
      const alias = await aliases.getByName(required(req.folderId, 'folder_id'), required(req.aliasName, 'alias_name'));
      const nodeId = aliasTargetOf(alias);
      return { output: await run(nodeId, req.input ?? {}, ctx.signal), nodeId };
    },
  };
}

/** Output-only fields a mask can never touch; only here to build a full message. */
const PLACEHOLDER = {
  generation: 0,
  suspended: false,
  deleting: false,
  createTime: new Date(0),
  updateTime: new Date(0),
  version: 0,
  status: initialNodeStatus(),
};
