import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { InstanceState } from '../../domain/node';

export interface HealthCheckRecord {
  passed: boolean;
  reason: string;
  time: Date | string;
}

/**
 * The supervisor's record of one instance: what it decided (the instance
 * exists, for which generation) and what it last observed.
 */
export class InstanceEntity {
  id!: string;
  nodeId!: string;
  folderId!: string;
  generation!: number;
  state!: InstanceState;
  reason!: string;
  runtimeId!: string;
  address!: string;
  startTime!: Date | null;
  restartCount!: number;
  lastHealthCheck!: HealthCheckRecord | null;
  createTime!: Date;
  updateTime!: Date;
  version!: number;
}

export const InstanceSchema = new EntitySchema<InstanceEntity>({
  class: InstanceEntity,
  tableName: 'instances',
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    nodeId: { type: 'string', length: 64, index: 'instances_node_index' },
    folderId: { type: 'string', length: 64 },
    generation: { type: 'integer' },
    state: { type: 'string', length: 16 },
    reason: { type: 'text' },
    runtimeId: { type: 'string', length: 128 },
    address: { type: 'string', length: 128 },
    startTime: { type: DateTimeType, nullable: true },
    restartCount: { type: 'integer' },
    lastHealthCheck: { type: 'json', nullable: true },
    createTime: { type: DateTimeType },
    updateTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});
