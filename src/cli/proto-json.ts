import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { descriptors } from '../api/descriptors';

/** The encode/decode pair every ts-proto message has. */
export interface MessageCodec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

function descOf(typeName: string): DescMessage {
  const desc = descriptors().registry.getMessage(typeName);
  if (!desc) throw new Error(`no message ${typeName} in the descriptor set`);
  return desc;
}

/**
 * A message in its canonical proto3 JSON form (lowerCamel names, enums by
 * name, durations as "1.5s"): what the REST API speaks and what `-o json`
 * and manifests use. ts-proto's own `toJSON` writes durations as objects.
 */
export function toProtoJson<T>(codec: MessageCodec<T>, typeName: string, message: T): JsonValue {
  const desc = descOf(typeName);
  return toJson(desc, fromBinary(desc, codec.encode(message).finish()), { registry: descriptors().registry });
}

/** The reverse of `toProtoJson`; throws with the offending field named. */
export function fromProtoJson<T>(codec: MessageCodec<T>, typeName: string, json: JsonValue): T {
  const desc = descOf(typeName);
  const registry = descriptors().registry;
  return codec.decode(toBinary(desc, fromJson(desc, json, { registry })));
}
