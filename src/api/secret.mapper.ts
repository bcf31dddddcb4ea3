import type { Secret as SecretProto, SecretEntry as SecretEntryProto } from '../../gen/berth/v1/secret';
import type { Secret, SecretEntry, SecretInput } from '../domain/secret';
import { etagOf } from '../store/translate';

/** A secret as the API shows it: keys and version, no value (the domain's Secret has none). */
export function secretToProto(s: Secret): SecretProto {
  return {
    id: s.id,
    folderId: s.folderId,
    name: s.name,
    description: s.description,
    labels: s.labels,
    entries: s.keys.map((key) => ({ key })),
    version: s.currentVersion,
    createTime: s.createTime,
    updateTime: s.updateTime,
    etag: etagOf(s.version),
  };
}

export function secretInputFromProto(p: SecretProto): SecretInput {
  return { folderId: p.folderId, name: p.name, description: p.description, labels: p.labels };
}

export function secretEntriesFromProto(entries: SecretEntryProto[]): SecretEntry[] {
  return entries.map((e) => ({ key: e.key, value: e.value }));
}
