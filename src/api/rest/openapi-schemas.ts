import { getOption, ScalarType, type DescEnum, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { ProtoComments, type Commented } from './proto-comments';

/** An OpenAPI 3.0 schema object (or a reference to one), as plain JSON. */
export type Schema = Record<string, unknown>;

/** google.api.FieldBehavior values that change how a field is described. */
const Behavior = { REQUIRED: 2, OUTPUT_ONLY: 3, INPUT_ONLY: 4, IMMUTABLE: 5 } as const;

const DURATION = '^-?[0-9]+(\\.[0-9]{1,9})?s$';

/**
 * The proto3 JSON form of each scalar type, as grpc-gateway's OpenAPI
 * generator writes it: 64-bit integers are strings (JSON numbers cannot hold
 * them exactly), bytes are base64.
 */
function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.DOUBLE:
      return { type: 'number', format: 'double' };
    case ScalarType.FLOAT:
      return { type: 'number', format: 'float' };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { type: 'string', format: 'int64' };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { type: 'string', format: 'uint64' };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'int64', minimum: 0 };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { type: 'string', format: 'byte' };
  }
}

const WRAPPERS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': ScalarType.DOUBLE,
  'google.protobuf.FloatValue': ScalarType.FLOAT,
  'google.protobuf.Int64Value': ScalarType.INT64,
  'google.protobuf.UInt64Value': ScalarType.UINT64,
  'google.protobuf.Int32Value': ScalarType.INT32,
  'google.protobuf.UInt32Value': ScalarType.UINT32,
  'google.protobuf.BoolValue': ScalarType.BOOL,
  'google.protobuf.StringValue': ScalarType.STRING,
  'google.protobuf.BytesValue': ScalarType.BYTES,
};

/**
 * The well-known types whose JSON form is their own (proto3 JSON mapping),
 * inline wherever they are used; undefined for any other message.
 */
export function wellKnownSchema(typeName: string): Schema | undefined {
  switch (typeName) {
    case 'google.protobuf.Timestamp':
      return { type: 'string', format: 'date-time', description: 'RFC 3339 in UTC, such as `2026-01-02T03:04:05.678Z`.' };
    case 'google.protobuf.Duration':
      return { type: 'string', pattern: DURATION, example: '1.5s', description: 'Seconds with up to nine fractional digits and the suffix `s`, such as `1.5s`.' };
    case 'google.protobuf.FieldMask':
      return { type: 'string', example: 'description,labels', description: 'Field paths separated by commas, in lowerCamelCase (proto names are taken too).' };
    case 'google.protobuf.Struct':
      return { type: 'object', additionalProperties: true, description: 'Any JSON object.' };
    case 'google.protobuf.Value':
      return { description: 'Any JSON value.' };
    case 'google.protobuf.ListValue':
      return { type: 'array', items: {}, description: 'Any JSON array.' };
    case 'google.protobuf.Empty':
      return { type: 'object', properties: {} };
    case 'google.protobuf.Any':
      return {
        type: 'object',
        required: ['@type'],
        properties: { '@type': { type: 'string', description: 'The type URL, such as `type.googleapis.com/google.rpc.BadRequest`.' } },
        additionalProperties: true,
        description: "A message of the type `@type` names, its fields beside `@type` (a well-known type's JSON value as `value`).",
      };
  }
  const wrapped = WRAPPERS[typeName];
  return wrapped === undefined ? undefined : { ...scalarSchema(wrapped), nullable: true };
}

/** The name of a message's or enum's schema under `components/schemas`: its full proto name. */
export function schemaName(desc: DescMessage | DescEnum): string {
  return desc.typeName;
}

function ref(desc: DescMessage | DescEnum): Schema {
  return { $ref: `#/components/schemas/${schemaName(desc)}` };
}

/**
 * Builds OpenAPI schemas of proto messages in their proto3 JSON form:
 * lowerCamelCase property names, 64-bit integers as strings, enums by name,
 * well-known types in their own JSON forms, described by the comments of the
 * .proto files. Each message or enum reached becomes one component.
 */
export class OpenApiSchemas {
  /** `components/schemas`, filled as messages are reached. */
  readonly components: Record<string, Schema> = {};
  private readonly fieldBehavior: ReturnType<Registry['getExtension']>;

  constructor(
    registry: Registry,
    readonly comments: ProtoComments = new ProtoComments(),
  ) {
    this.fieldBehavior = registry.getExtension('google.api.field_behavior');
  }

  /** A reference to a message's schema (or its inline form for a well-known type), adding the component when new. */
  message(desc: DescMessage): Schema {
    const known = wellKnownSchema(desc.typeName);
    if (known) return known;
    const name = schemaName(desc);
    if (!(name in this.components)) {
      // Registered before its fields are built: a message that holds itself refers to its own component.
      this.components[name] = {};
      this.components[name] = { type: 'object', ...this.describe(desc), properties: this.properties(desc) };
      const oneofs = desc.oneofs.map((o) => {
        const comment = this.comments.of(o);
        return `Oneof \`${o.name}\`, at most one of ${o.fields.map((f) => `\`${f.jsonName}\``).join(', ')}${comment ? `: ${comment.replace(/\n/g, ' ')}` : '.'}`;
      });
      const description = [this.components[name]!.description, ...oneofs].filter((s) => s).join('\n\n');
      if (description) this.components[name]!.description = description;
    }
    return ref(desc);
  }

  /**
   * The JSON properties of a message, by lowerCamelCase name, without the
   * fields in `omit` (proto names): a request body without its path fields.
   */
  properties(desc: DescMessage, omit: ReadonlySet<string> = new Set()): Record<string, Schema> {
    return Object.fromEntries(desc.fields.filter((f) => !omit.has(f.name)).map((f) => [f.jsonName, this.field(f)]));
  }

  /** A field's schema with its comment, behavior (output only, required…) and oneof noted. */
  field(field: DescField): Schema {
    const value = this.fieldValue(field);
    const behaviors = this.behaviorsOf(field);
    const notes: string[] = [];
    if (behaviors.includes(Behavior.REQUIRED)) notes.push('Required.');
    if (behaviors.includes(Behavior.OUTPUT_ONLY)) notes.push('Output only: set by Berth, ignored in requests.');
    if (behaviors.includes(Behavior.INPUT_ONLY)) notes.push('Input only: never returned.');
    if (behaviors.includes(Behavior.IMMUTABLE)) notes.push('Immutable once created.');
    if (field.oneof) notes.push(`At most one of ${field.oneof.fields.map((f) => `\`${f.jsonName}\``).join(', ')} is set (oneof \`${field.oneof.name}\`).`);
    const comment = this.comments.of(field);
    const description = [comment, notes.join(' ')].filter((s) => s).join('\n\n');
    const extra: Schema = {
      ...(description ? { description } : {}),
      ...(behaviors.includes(Behavior.OUTPUT_ONLY) ? { readOnly: true } : {}),
      ...(behaviors.includes(Behavior.INPUT_ONLY) ? { writeOnly: true } : {}),
      ...(field.deprecated ? { deprecated: true } : {}),
    };
    if (Object.keys(extra).length === 0) return value;
    // A reference takes no siblings in OpenAPI 3.0: wrap it to describe it.
    if ('$ref' in value) return { allOf: [value], ...extra };
    // The type's own description comes first, the field's after it.
    const own = typeof value.description === 'string' ? value.description : '';
    return { ...value, ...extra, ...(own && description ? { description: `${description}\n\n${own}` } : {}) };
  }

  /** The JSON value of a field, without its description: arrays for lists, objects for maps. */
  fieldValue(field: DescField): Schema {
    switch (field.fieldKind) {
      case 'scalar':
        return scalarSchema(field.scalar);
      case 'enum':
        return this.enum(field.enum);
      case 'message':
        return this.message(field.message);
      case 'list':
        return { type: 'array', items: field.listKind === 'scalar' ? scalarSchema(field.scalar) : field.listKind === 'enum' ? this.enum(field.enum) : this.message(field.message) };
      case 'map': {
        const value = field.mapKind === 'scalar' ? scalarSchema(field.scalar) : field.mapKind === 'enum' ? this.enum(field.enum) : this.message(field.message);
        return { type: 'object', additionalProperties: value };
      }
    }
  }

  /** A reference to an enum's schema: a string of its value names (what Berth writes; numbers are read too). */
  enum(desc: DescEnum): Schema {
    const name = schemaName(desc);
    if (!(name in this.components)) {
      const values = desc.values.map((v) => {
        const comment = this.comments.of(v);
        return `- \`${v.name}\`${comment ? `: ${comment.replace(/\n/g, ' ')}` : ''}`;
      });
      const comment = this.comments.of(desc);
      this.components[name] = { type: 'string', enum: desc.values.map((v) => v.name), description: [comment, values.join('\n')].filter((s) => s).join('\n\n') };
    }
    return ref(desc);
  }

  private describe(desc: Commented & { deprecated: boolean }): Schema {
    const comment = this.comments.of(desc);
    return { ...(comment ? { description: comment } : {}), ...(desc.deprecated ? { deprecated: true } : {}) };
  }

  private behaviorsOf(field: DescField): number[] {
    if (!this.fieldBehavior) return [];
    const value = (getOption as (f: DescField, e: unknown) => unknown)(field, this.fieldBehavior);
    return Array.isArray(value) ? (value as number[]) : [];
  }
}
