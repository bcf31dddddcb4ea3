import { DateTimeType, EntitySchema } from '@mikro-orm/core';
import type { SealedEntry } from '../../domain/secret';

/**
 * A secret and its current version. The entries' keys are stored in the
 * clear (the API shows them); each value only sealed (AES-256-GCM, see
 * src/secrets/cipher.ts), bound to this id, version and key.
 */
export class SecretEntity {
  id!: string;
  folderId!: string;
  name!: string;
  description!: string;
  labels!: Record<string, string>;
  currentVersion!: number;
  entries!: SealedEntry[];
  createTime!: Date;
  updateTime!: Date;
  version!: number;
}

export const SecretSchema = new EntitySchema<SecretEntity>({
  class: SecretEntity,
  tableName: 'secrets',
  uniques: [{ name: 'secrets_folder_name_unique', properties: ['folderId', 'name'] }],
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'secrets_folder_index' },
    name: { type: 'string', length: 63 },
    description: { type: 'text' },
    labels: { type: 'json' },
    currentVersion: { type: 'integer' },
    entries: { type: 'json' },
    createTime: { type: DateTimeType },
    updateTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});
