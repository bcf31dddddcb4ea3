import { BigIntType, DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { CapturedVariable, CheckpointState } from '../../domain/checkpoint';

export class CheckpointEntity {
  id!: string;
  folderId!: string;
  name!: string;
  description!: string;
  cellSources!: string[];
  servedCellIndex!: number;
  state!: CheckpointState;
  digest!: string;
  sizeBytes!: number;
  pythonVersion!: string;
  variables!: CapturedVariable[];
  environmentImage!: string;
  environmentImageId!: string;
  moduleVersions!: Record<string, string>;
  createTime!: Date;
  version!: number;
}

export const CheckpointSchema = new EntitySchema<CheckpointEntity>({
  class: CheckpointEntity,
  tableName: 'checkpoints',
  uniques: [{ name: 'checkpoints_folder_name_unique', properties: ['folderId', 'name'] }],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'checkpoints_folder_index' },
    name: { type: 'string', length: 63 },
    description: { type: 'text' },
    cellSources: { type: 'json' },
    servedCellIndex: { type: 'integer' },
    state: { type: 'string', length: 16 },
    digest: { type: 'string', length: 80 },
    sizeBytes: { type: new BigIntType('number') },
    pythonVersion: { type: 'string', length: 32 },
    variables: { type: 'json' },
    environmentImage: { type: 'string', length: 512, default: '' },
    environmentImageId: { type: 'string', length: 80, default: '' },
    moduleVersions: { type: 'json', nullable: true },
    createTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});
