import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { NodeSpec, NodeStatus } from '../../domain/node';

/** The desired state of a node, written by the API. */
export class NodeEntity {
  id!: string;
  folderId!: string;
  name!: string;
  description!: string;
  labels!: Record<string, string>;
  kind!: 'checkpoint' | 'docker';
  spec!: NodeSpec;
  generation!: number;
  suspended!: boolean;
  deleting!: boolean;
  createTime!: Date;
  updateTime!: Date;
  version!: number;
}

export const NodeSchema = new EntitySchema<NodeEntity>({
  class: NodeEntity,
  tableName: 'nodes',
  uniques: [{ name: 'nodes_folder_name_unique', properties: ['folderId', 'name'] }],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'nodes_folder_index' },
    name: { type: 'string', length: 63 },
    description: { type: 'text' },
    labels: { type: 'json' },
    kind: { type: 'string', length: 16 },
    spec: { type: 'json' },
    generation: { type: 'integer' },
    suspended: { type: 'boolean' },
    deleting: { type: 'boolean' },
    createTime: { type: DateTimeType },
    updateTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});

/**
 * The observed state of a node, written by the supervisor. Kept in its own row
 * with its own version so that status writes and API writes never overwrite
 * each other.
 */
export class NodeStatusEntity {
  nodeId!: string;
  status!: NodeStatus;
  version!: number;
}

export const NodeStatusSchema = new EntitySchema<NodeStatusEntity>({
  class: NodeStatusEntity,
  tableName: 'node_statuses',
  properties: {
    nodeId: { type: 'string', primary: true, length: 64 },
    status: { type: 'json' },
    version: { type: 'integer', version: true },
  },
});
