import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorSet } from '@bufbuild/protobuf/wkt';

/**
 * The descriptor set that `buf build` writes next to the generated code: the
 * berth.v1 files with every import. REST transcoding, error details and
 * reflection read it, so they follow the .proto files without hand-written tables.
 */
export const DESCRIPTOR_SET_PATH = path.join(__dirname, '..', '..', 'gen', 'berth.binpb');

let cached: { set: FileDescriptorSet; bytes: Buffer; registry: FileRegistry } | undefined;

export function descriptors(): { set: FileDescriptorSet; bytes: Buffer; registry: FileRegistry } {
  if (!cached) {
    const bytes = readFileSync(DESCRIPTOR_SET_PATH);
    const set = fromBinary(FileDescriptorSetSchema, bytes);
    cached = { set, bytes, registry: createFileRegistry(set) };
  }
  return cached;
}

/** The control-plane services, by full name. */
export const BERTH_SERVICES = [
  'berth.v1.FolderService',
  'berth.v1.NodeService',
  'berth.v1.AliasService',
  'berth.v1.CheckpointService',
  'berth.v1.OperationService',
  'berth.v1.SecretService',
  'berth.v1.IamService',
  'berth.v1.AuditService',
  'berth.v1.UsageService',
] as const;
