import { BigIntType, DateTimeType, EntitySchema } from '@mikro-orm/core';

export class PrincipalEntity {
  id!: string;
  name!: string;
  description!: string;
  kind!: string;
  serverAdmin!: boolean;
  createTime!: Date;
  version!: number;
}

export const PrincipalSchema = new EntitySchema<PrincipalEntity>({
  class: PrincipalEntity,
  tableName: 'principals',
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    name: { type: 'string', length: 63, unique: 'principals_name_unique' },
    description: { type: 'text' },
    kind: { type: 'string', length: 32 },
    serverAdmin: { type: 'boolean' },
    createTime: { type: DateTimeType },
    version: { type: 'integer', version: true },
  },
});

/** An API key: only the SHA-256 of its secret is kept. */
export class ApiKeyEntity {
  id!: string;
  principalId!: string;
  description!: string;
  secretHash!: string;
  createTime!: Date;
  expireTime?: Date | null;
  revokeTime?: Date | null;
  rateLimitPerSecond!: number;
  rateLimitBurst!: number;
  callCount!: number;
  lastUsedTime?: Date | null;
}

export const ApiKeySchema = new EntitySchema<ApiKeyEntity>({
  class: ApiKeyEntity,
  tableName: 'api_keys',
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    principalId: { type: 'string', length: 64, index: 'api_keys_principal_index' },
    description: { type: 'text' },
    secretHash: { type: 'string', length: 64 },
    createTime: { type: DateTimeType },
    expireTime: { type: DateTimeType, nullable: true },
    revokeTime: { type: DateTimeType, nullable: true },
    rateLimitPerSecond: { type: 'double' },
    rateLimitBurst: { type: 'integer' },
    callCount: { type: new BigIntType('number') },
    lastUsedTime: { type: DateTimeType, nullable: true },
  },
});

/** A principal's role in a folder: one row per (folder, principal). */
export class AccessBindingEntity {
  folderId!: string;
  principalId!: string;
  role!: string;
  createTime!: Date;
}

export const AccessBindingSchema = new EntitySchema<AccessBindingEntity>({
  class: AccessBindingEntity,
  tableName: 'access_bindings',
  properties: {
    folderId: { type: 'string', primary: true, length: 64 },
    principalId: { type: 'string', primary: true, length: 64, index: 'access_bindings_principal_index' },
    role: { type: 'string', length: 16 },
    createTime: { type: DateTimeType },
  },
});
