import { NodeServiceService } from '../../gen/berth/v1/node_service';
import type { Aliases } from '../control/aliases';
import type { Nodes } from '../control/nodes';
import { FailedPreconditionError, UnavailableError, ValidationError } from '../domain/errors';
import { initialNodeStatus } from '../domain/node';
import type { ServiceHandlers } from './adapter';
import { applyFieldMask } from './field-mask';
import { instanceToProto, nodeInputFromProto, nodeToProto } from './node.mapper';
import { operationView } from './operation-view';
import { StatusError } from './status';
import { status as Code } from '@grpc/grpc-js';

export function nodeService(nodes: Nodes, aliases: Aliases): ServiceHandlers<typeof NodeServiceService> {
  /** Checkpoint execution lands with the checkpoint runtime; until then no instance can answer. */
  async function execute(nodeId: string): Promise<never> {
    const node = await nodes.get(nodeId);
    if (node.spec.source.kind !== 'checkpoint')
      throw new FailedPreconditionError(`node ${nodeId} is a Docker node; call it through the node API with x-node-id`, `nodes/${nodeId}`);
    throw new UnavailableError(`node ${nodeId} has no healthy instance`);
  }

  return {
    async createNode(req) {
      if (!req.node) throw ValidationError.of('node', 'is required');
      return operationView(await nodes.create(nodeInputFromProto(req.node)), nodes);
    },
    async getNode(req) {
      return nodeToProto(await nodes.get(req.nodeId));
    },
    async listNodes(req) {
      const page = await nodes.list(req.folderId, req, req.filter);
      return { nodes: page.items.map(nodeToProto), nextPageToken: page.nextPageToken };
    },
    async updateNode(req) {
      const patch = req.node;
      if (!patch) throw ValidationError.of('node', 'is required');
      const updated = await nodes.update(
        patch.id,
        (current) => {
          const currentProto = nodeToProto({ ...current, ...PLACEHOLDER, id: patch.id });
          return nodeInputFromProto(applyFieldMask('berth.v1.Node', currentProto, patch, req.updateMask ?? []));
        },
        patch.etag || undefined,
      );
      return nodeToProto(updated);
    },
    async deleteNode(req) {
      return operationView(await nodes.delete(req.nodeId, req.etag || undefined), nodes);
    },
    async suspendNode(req) {
      return operationView(await nodes.setSuspended(req.nodeId, true), nodes);
    },
    async resumeNode(req) {
      return operationView(await nodes.setSuspended(req.nodeId, false), nodes);
    },
    async listInstances(req) {
      const page = await nodes.listInstances(req.nodeId, req);
      return { instances: page.items.map(instanceToProto), nextPageToken: page.nextPageToken };
    },
    async getNodeApi(req) {
      const node = await nodes.get(req.nodeId);
      if (node.spec.source.kind !== 'checkpoint')
        throw new FailedPreconditionError(`node ${req.nodeId} is a Docker node; it serves its image's own API`, `nodes/${req.nodeId}`);
      throw new StatusError(Code.UNIMPLEMENTED, 'generated APIs of checkpoint nodes are not served yet');
    },
    async execute(req) {
      return execute(req.nodeId);
    },
    async executeAlias(req) {
      const alias = await aliases.getByName(req.folderId, req.aliasName);
      return execute(alias.targets.find((t) => t.weight > 0)?.nodeId ?? alias.targets[0]!.nodeId);
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
