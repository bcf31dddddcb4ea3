import { AliasSchema } from './alias.entity';
import { AuditRecordSchema } from './audit-record.entity';
import { CheckpointSchema } from './checkpoint.entity';
import { FolderSchema } from './folder.entity';
import { InstanceSchema } from './instance.entity';
import { NodeSchema, NodeStatusSchema } from './node.entity';
import { OperationSchema } from './operation.entity';
import { SecretSchema } from './secret.entity';
import { LogCursorSchema, NodeEventSchema, NodeLogLineSchema } from './node-log.entity';
import { AccessBindingSchema, ApiKeySchema, PrincipalSchema } from './principal.entity';

/** Every entity Berth stores; the migrations are generated from these. */
export const ENTITIES = [FolderSchema, NodeSchema, NodeStatusSchema, AliasSchema, OperationSchema, CheckpointSchema, InstanceSchema, SecretSchema, PrincipalSchema, ApiKeySchema, AccessBindingSchema, AuditRecordSchema, NodeLogLineSchema, NodeEventSchema, LogCursorSchema];
