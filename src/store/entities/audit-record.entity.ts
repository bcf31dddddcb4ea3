import { DateTimeType, EntitySchema } from '@mikro-orm/core';

export class AuditRecordEntity {
  id!: string;
  folderId!: string;
  principalId!: string;
  principalName!: string;
  keyId!: string;
  method!: string;
  resourceId!: string;
  result!: string;
  message!: string;
  requestId!: string;
  time!: Date;
}

export const AuditRecordSchema = new EntitySchema<AuditRecordEntity>({
  class: AuditRecordEntity,
  tableName: 'audit_records',
  properties: {
    id: { type: 'string', primary: true, length: 64 },
    folderId: { type: 'string', length: 64, index: 'audit_records_folder_index' },
    principalId: { type: 'string', length: 64 },
    principalName: { type: 'string', length: 63 },
    keyId: { type: 'string', length: 64 },
    method: { type: 'string', length: 128 },
    resourceId: { type: 'string', length: 64 },
    result: { type: 'string', length: 32 },
    message: { type: 'text' },
    requestId: { type: 'string', length: 128 },
    time: { type: DateTimeType },
  },
});
