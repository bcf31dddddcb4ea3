import type { DescField, DescMessage } from '@bufbuild/protobuf';

/**
 * Fields marked `debug_redact` in the .proto files hold secret values: they
 * are write-only, and nothing Berth answers or logs may quote them, even when
 * a request is malformed around them.
 */
export function isRedacted(field: DescField): boolean {
  return field.proto.options?.debugRedact === true;
}

const carrying = new WeakMap<DescMessage, boolean>();

/**
 * Whether a request of this type can hold a secret value anywhere: then a
 * refusal of its body names the field but never quotes what was sent (a
 * parser's or decoder's message shows a piece of the input).
 */
export function carriesSecrets(desc: DescMessage, seen = new Set<DescMessage>()): boolean {
  const known = carrying.get(desc);
  if (known !== undefined) return known;
  if (seen.has(desc)) return false;
  seen.add(desc);
  const result = desc.fields.some(
    (f) =>
      isRedacted(f) ||
      (f.fieldKind === 'message' && carriesSecrets(f.message, seen)) ||
      (f.fieldKind === 'list' && f.listKind === 'message' && carriesSecrets(f.message, seen)) ||
      (f.fieldKind === 'map' && f.mapKind === 'message' && carriesSecrets(f.message, seen)),
  );
  carrying.set(desc, result);
  return result;
}

/** What a refusal of such a request says instead of the parser's or decoder's own words. */
export const NOT_QUOTED = 'the text is not quoted back: this request carries secret values';
