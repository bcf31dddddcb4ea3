import { DateTimeType, EntitySchema } from '@mikro-orm/core';

export class FolderEntity {
  id!: string;
  name!: string;
  description!: string;
  labels!: Record<string, string>;
  createTime!: Date;
  updateTime!: Date;
  version!: number;
}

export const FolderSchema = new EntitySchema<FolderEntity>({
  class: FolderEntity,
  tableName: 'folders',
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    name: { type: 'string', length: 63, unique: 'folders_name_unique' },
    description: { type: 'text' },
    labels: { type: 'json' },
    createTime: { type: DateTimeType },
    updateTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});
