import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { AliasAccess, AliasTarget } from '../../domain/alias';

export class AliasEntity {
  id!: string;
  folderId!: string;
  name!: string;
  description!: string;
  targets!: AliasTarget[];
  metadata!: Record<string, string>;
  access!: AliasAccess;
  createTime!: Date;
  updateTime!: Date;
  version!: number;
}

export const AliasSchema = new EntitySchema<AliasEntity>({
  class: AliasEntity,
  tableName: 'aliases',
  uniques: [{ name: 'aliases_folder_name_unique', properties: ['folderId', 'name'] }],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'aliases_folder_index' },
    name: { type: 'string', length: 63 },
    description: { type: 'text' },
    targets: { type: 'json' },
    metadata: { type: 'json' },
    access: { type: 'string', length: 16 },
    createTime: { type: DateTimeType },
    updateTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});
