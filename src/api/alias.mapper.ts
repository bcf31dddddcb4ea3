import { AliasAccess as AccessProto, type Alias as AliasProto } from '../../gen/berth/v1/alias';
import type { Alias, AliasAccess, AliasInput } from '../domain/alias';
import { etagOf } from '../store/translate';
import { enumFrom, enumTo, invert } from './common.mapper';

const ACCESS: Record<number, AliasAccess> = { [AccessProto.ALIAS_ACCESS_PRIVATE]: 'private', [AccessProto.ALIAS_ACCESS_PUBLIC]: 'public' };

const ACCESS_NUMBERS = invert(ACCESS);

export function aliasToProto(a: Alias): AliasProto {
  return {
    id: a.id,
    folderId: a.folderId,
    name: a.name,
    description: a.description,
    targets: a.targets.map((t) => ({ nodeId: t.nodeId, weight: t.weight })),
    metadata: a.metadata,
    access: enumTo(a.access, ACCESS_NUMBERS),
    createTime: a.createTime,
    updateTime: a.updateTime,
    etag: etagOf(a.version),
  };
}

export function aliasInputFromProto(p: AliasProto): AliasInput {
  return {
    folderId: p.folderId,
    name: p.name,
    description: p.description,
    targets: p.targets.map((t) => ({ nodeId: t.nodeId, weight: t.weight })),
    metadata: p.metadata,
    access: enumFrom(p.access, ACCESS, 'alias.access', false) ?? 'private',
  };
}
