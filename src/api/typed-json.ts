import { create, createFileRegistry, fromJson, toJson, type DescField, type DescMessage, type JsonValue, type Message, type Registry } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import type { Variable } from '../domain/node';
import type { NodeApiNames } from '../domain/node-api-names';
import { aliasShape, nodeShape, type ApiShape, type TypedAlias, type TypedNode } from '../domain/typed-api';
import { jsonNameOf } from '../domain/variable-names';
import { protoTypeOf, type WireValue } from '../domain/variables';
import { FailedPreconditionError, ValidationError } from '../domain/errors';
import { Violations } from '../domain/validation';
import { descriptors } from './descriptors';

export type { TypedNode } from '../domain/typed-api';

const SCALAR: Record<string, FieldDescriptorProto_Type> = {
  int64: FieldDescriptorProto_Type.INT64,
  double: FieldDescriptorProto_Type.DOUBLE,
  string: FieldDescriptorProto_Type.STRING,
  bool: FieldDescriptorProto_Type.BOOL,
  bytes: FieldDescriptorProto_Type.BYTES,
};

function fieldsOf(vars: Variable[]) {
  return vars.map((v, i) => {
    const t = protoTypeOf(v.type);
    const message = t.type.startsWith('google.');
    return {
      name: v.name,
      number: i + 1,
      label: t.repeated ? FieldDescriptorProto_Label.REPEATED : FieldDescriptorProto_Label.OPTIONAL,
      type: message ? FieldDescriptorProto_Type.MESSAGE : SCALAR[t.type]!,
      // Unset for scalars (descriptor.proto is proto2: an empty name would be sent).
      ...(message ? { typeName: `.${t.type}` } : {}),
      jsonName: jsonNameOf(v.name),
    };
  });
}

/** The descriptor of a node's typed API, built from its declared variables (the same shape as its `.proto`). */
export function nodeFileDescriptor(node: TypedNode): FileDescriptorProto {
  return fileDescriptorOf(nodeShape(node));
}

/** The descriptor of a generated API (the same as its `.proto` compiled). */
export function fileDescriptorOf(shape: ApiShape): FileDescriptorProto {
  const { names, inputs, outputs } = shape;
  return create(FileDescriptorProtoSchema, {
    name: names.file,
    package: names.package,
    syntax: 'proto3',
    dependency: [...inputs, ...outputs].some((v) => v.type === 'list' || v.type === 'dict') ? ['google/protobuf/struct.proto'] : [],
    messageType: [
      { name: 'ExecuteRequest', field: fieldsOf(inputs) },
      { name: 'ExecuteResponse', field: fieldsOf(outputs) },
    ],
    service: [
      {
        name: names.service,
        method: [{ name: 'Execute', inputType: `.${names.package}.ExecuteRequest`, outputType: `.${names.package}.ExecuteResponse` }],
      },
    ],
  });
}

/**
 * A node's request and response messages, and the conversions between them,
 * the worker's JSON (variable names, ints beyond 2^53 as strings) and
 * protobuf JSON (lowerCamel names, int64 as strings) of the typed REST route.
 */
/** How many nodes' messages {@link TypedMessages.of} keeps (the oldest goes first). */
const MESSAGES_KEPT = 256;
const MESSAGES = new Map<string, TypedMessages>();

export class TypedMessages {
  readonly names: NodeApiNames;
  readonly file: FileDescriptorProto;
  readonly input: DescMessage;
  readonly output: DescMessage;
  /** Resolves google.protobuf types for JSON. */
  readonly registry: Registry;

  /**
   * The messages of a node, made once per API shape: building a descriptor
   * and a registry costs far more than a call, and the typed route reads the
   * node afresh on every call. A changed node has another key.
   */
  static of(node: TypedNode): TypedMessages {
    return TypedMessages.ofShape(nodeShape(node));
  }

  /** The messages of an alias, made once per API shape. */
  static ofAlias(alias: TypedAlias): TypedMessages {
    return TypedMessages.ofShape(aliasShape(alias));
  }

  private static ofShape(shape: ApiShape): TypedMessages {
    const key = JSON.stringify(shape);
    let messages = MESSAGES.get(key);
    if (!messages) {
      messages = new TypedMessages(shape);
      if (MESSAGES.size >= MESSAGES_KEPT) MESSAGES.delete(MESSAGES.keys().next().value as string);
      MESSAGES.set(key, messages);
    }
    return messages;
  }

  constructor(shape: ApiShape) {
    this.names = shape.names;
    this.file = fileDescriptorOf(shape);
    const { registry: base } = descriptors();
    const registry = createFileRegistry(this.file, (name) => base.getFile(name));
    this.input = registry.getMessage(`${this.names.package}.ExecuteRequest`) as DescMessage;
    this.output = registry.getMessage(`${this.names.package}.ExecuteResponse`) as DescMessage;
    this.registry = base;
  }

  /**
   * A request as the worker's inputs: every field by its variable name, unset
   * ones at their defaults (an unset list or dict is empty, as protobuf
   * leaves a message field out of its JSON).
   */
  inputsOf(request: Message): Record<string, unknown> {
    const json = toJson(this.input, request, { useProtoFieldName: true, alwaysEmitImplicit: true, registry: this.registry }) as Record<string, unknown>;
    for (const field of this.input.fields) {
      if (field.fieldKind !== 'message' || field.name in json) continue;
      json[field.name] = field.message.typeName === 'google.protobuf.ListValue' ? [] : {};
    }
    return json;
  }

  /** The worker's outputs as the response; an output the message cannot hold (an int beyond int64) is the cell's fault. */
  responseOf(nodeId: string, outputs: Record<string, WireValue>): Message {
    try {
      return fromJson(this.output, outputs as JsonValue, { ignoreUnknownFields: true, registry: this.registry });
    } catch (err) {
      throw new FailedPreconditionError(`the served cell's outputs do not fit ${this.output.typeName}: ${(err as Error).message}`, `nodes/${nodeId}`, 'OUTPUT');
    }
  }

  /**
   * A typed REST body (protobuf JSON: lowerCamel or variable names, int64 as
   * strings or numbers) as a request; a field that does not fit is named
   * `input.<variable>`, as the other ways of calling name it.
   */
  requestFromJson(body: unknown): Message {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw ValidationError.of('body', `must be a JSON object: ${this.input.typeName} in protobuf JSON`);
    const v = new Violations();
    const variables = this.input.fields.map((f) => f.name).join(', ') || 'none';
    for (const [key, value] of Object.entries(body)) {
      const field = this.input.fields.find((f) => f.jsonName === key || f.name === key);
      if (!field) {
        v.add(`input.${key}`, `is not an input of this node; its inputs are ${variables}`);
        continue;
      }
      try {
        fromJson(this.input, { [key]: value } as JsonValue, { registry: this.registry });
      } catch (err) {
        v.add(`input.${field.name}`, `is not a valid ${fieldTypeOf(field)} in protobuf JSON: ${(err as Error).message.replace(/^cannot decode field [\w.]+ from JSON: /, '')}`);
      }
    }
    v.throwIfAny();
    try {
      return fromJson(this.input, body as JsonValue, { registry: this.registry });
    } catch (err) {
      // A field named twice (as "aB" and "a_b"), for one.
      throw ValidationError.of('body', `is not a valid ${this.input.typeName} in protobuf JSON: ${(err as Error).message}`);
    }
  }

  /** A response in protobuf JSON: lowerCamel names, every field present, int64 as strings. */
  responseToJson(response: Message): JsonValue {
    return toJson(this.output, response, { alwaysEmitImplicit: true, registry: this.registry });
  }
}

/** A field's protobuf type as a caller reads it, e.g. `int64`, `repeated double`, `google.protobuf.Struct`. */
function fieldTypeOf(field: DescField): string {
  const type = field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message') ? field.message!.typeName : protoScalarName(field);
  return field.fieldKind === 'list' ? `repeated ${type}` : type;
}

function protoScalarName(field: DescField): string {
  return field.proto.type === FieldDescriptorProto_Type.INT64
    ? 'int64'
    : field.proto.type === FieldDescriptorProto_Type.DOUBLE
      ? 'double'
      : field.proto.type === FieldDescriptorProto_Type.BOOL
        ? 'bool'
        : field.proto.type === FieldDescriptorProto_Type.BYTES
          ? 'bytes (base64)'
          : 'string';
}
