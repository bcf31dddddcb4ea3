import { getOption, type DescExtension, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { ValidationError } from '../domain/errors';
import { Violations } from '../domain/validation';
import { descriptors } from './descriptors';

const OUTPUT_ONLY = 3;
const IMMUTABLE = 5;

function behaviors(field: DescField): number[] {
  const ext = descriptors().registry.getExtension('google.api.field_behavior') as DescExtension | undefined;
  if (!ext) return [];
  return ((getOption as (e: unknown, x: unknown) => unknown)(field, ext) as number[] | undefined) ?? [];
}

/**
 * Sets a field of a ts-proto message. Setting a member of a oneof clears the
 * other members, as protobuf does: ts-proto keeps each member in its own
 * property, so masking `spec.checkpoint` onto a docker node would otherwise
 * leave both set.
 */
function setMember(message: Record<string, unknown>, field: DescField, value: unknown): void {
  if (field.oneof && value !== undefined) for (const other of field.oneof.fields) if (other !== field) message[other.localName] = undefined;
  message[field.localName] = value;
}

/**
 * Applies an update mask to a ts-proto message: copies the masked fields from
 * `source` onto a copy of `target`. Paths are checked against the message's
 * descriptor; fields marked OUTPUT_ONLY or IMMUTABLE cannot be masked.
 * `*` replaces every field a caller may set.
 */
export function applyFieldMask<T extends object>(typeName: string, target: T, source: T, paths: string[], maskField = 'update_mask'): T {
  const root = descriptors().registry.getMessage(typeName) as DescMessage;
  if (paths.length === 0) throw ValidationError.of(maskField, 'is required: name the fields to change, e.g. "description,labels", or "*"');
  const expanded = paths.flatMap((p) => (p === '*' ? root.fields.filter((f) => !behaviors(f).some((b) => b === OUTPUT_ONLY || b === IMMUTABLE)).map((f) => f.name) : [p]));
  const v = new Violations();
  const result = structuredClone(target) as Record<string, unknown>;
  expanded.forEach((path, i) => {
    const segments = path.split('.');
    let desc: DescMessage | undefined = root;
    const fields: DescField[] = [];
    for (const [depth, seg] of segments.entries()) {
      const field: DescField | undefined = desc?.fields.find((f) => f.name === seg || f.jsonName === seg);
      if (!field) {
        v.add(`${maskField}.paths[${i}]`, `${JSON.stringify(path)}: ${desc?.typeName ?? typeName} has no field ${JSON.stringify(seg)}`);
        return;
      }
      const b = behaviors(field);
      if (b.includes(OUTPUT_ONLY) || b.includes(IMMUTABLE)) {
        v.add(`${maskField}.paths[${i}]`, `${JSON.stringify(path)} is ${b.includes(OUTPUT_ONLY) ? 'output only' : 'immutable'}`);
        return;
      }
      fields.push(field);
      desc = field.fieldKind === 'message' ? field.message : undefined;
      if (!desc && depth < segments.length - 1) {
        v.add(`${maskField}.paths[${i}]`, `${JSON.stringify(path)}: ${field.name} has no subfields`);
        return;
      }
    }
    let to = result;
    let from = source as Record<string, unknown> | undefined;
    for (const field of fields.slice(0, -1)) {
      const local = field.localName;
      const next = from?.[local] as Record<string, unknown> | undefined;
      if (to[local] === undefined || to[local] === null) {
        // The target lacks this submessage: take the caller's whole submessage.
        setMember(to, field, structuredClone(next));
        return;
      }
      to = to[local] as Record<string, unknown>;
      from = next;
    }
    const last = fields[fields.length - 1]!;
    setMember(to, last, structuredClone(from?.[last.localName]));
  });
  v.throwIfAny();
  return result as T;
}
