import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { OperationKind, OperationResult } from '../../domain/operation';

export class OperationEntity {
  id!: string;
  folderId!: string;
  description!: OperationKind;
  resourceId!: string;
  createTime!: Date;
  modifyTime!: Date;
  done!: boolean;
  cancelRequested!: boolean;
  result!: OperationResult;
  progress!: string;
  version!: number;
}

export const OperationSchema = new EntitySchema<OperationEntity>({
  class: OperationEntity,
  tableName: 'operations',
  indexes: [{ name: 'operations_resource_index', properties: ['resourceId'] }],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'operations_folder_index' },
    description: { type: 'string', length: 32 },
    resourceId: { type: 'string', length: 64 },
    createTime: { type: DateTimeType },
    modifyTime: { type: DateTimeType },
    done: { type: 'boolean' },
    cancelRequested: { type: 'boolean' },
    result: { type: 'json' },
    progress: { type: 'text', default: '' },
    version: { type: 'integer', version: true },
  },
});
