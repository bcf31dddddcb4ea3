import {
  AccessBindingAction,
  PrincipalKind as PrincipalKindProto,
  Role as RoleProto,
  type AccessBinding as AccessBindingProto,
  type ApiKey as ApiKeyProto,
  type Principal as PrincipalProto,
} from '../../gen/berth/v1/iam';
import type { AccessBinding, ApiKey, Principal, PrincipalInput, PrincipalKind, Role } from '../domain/access';
import type { AccessDelta } from '../control/iam';
import { enumFrom, enumTo, invert } from './common.mapper';

const KIND: Record<number, PrincipalKind> = { [PrincipalKindProto.PRINCIPAL_KIND_USER]: 'user', [PrincipalKindProto.PRINCIPAL_KIND_SERVICE_ACCOUNT]: 'service_account' };
const ROLE: Record<number, Role> = {
  [RoleProto.ROLE_VIEWER]: 'viewer',
  [RoleProto.ROLE_USER]: 'user',
  [RoleProto.ROLE_DEVELOPER]: 'developer',
  [RoleProto.ROLE_ADMIN]: 'admin',
};
const ACTION: Record<number, AccessDelta['action']> = { [AccessBindingAction.ACCESS_BINDING_ACTION_ADD]: 'add', [AccessBindingAction.ACCESS_BINDING_ACTION_REMOVE]: 'remove' };

export function principalToProto(p: Principal): PrincipalProto {
  return { id: p.id, name: p.name, description: p.description, kind: enumTo(p.kind, invert(KIND)), serverAdmin: p.serverAdmin, createTime: p.createTime };
}

export function principalInputFromProto(p: PrincipalProto): PrincipalInput {
  return {
    name: p.name,
    description: p.description,
    // A principal made without a kind is a person.
    kind: enumFrom(p.kind, KIND, 'principal.kind', false) ?? 'user',
    serverAdmin: p.serverAdmin,
  };
}

export function apiKeyToProto(k: ApiKey): ApiKeyProto {
  return {
    id: k.id,
    principalId: k.principalId,
    description: k.description,
    createTime: k.createTime,
    expireTime: k.expireTime,
    revokeTime: k.revokeTime,
    rateLimitPerSecond: k.rateLimitPerSecond,
    rateLimitBurst: k.rateLimitBurst,
    callCount: k.callCount,
    lastUsedTime: k.lastUsedTime,
  };
}

export function roleToProto(role: Role): RoleProto {
  return enumTo(role, invert(ROLE));
}

export function bindingToProto(b: AccessBinding): AccessBindingProto {
  return { principalId: b.principalId, role: roleToProto(b.role) };
}

export function deltaFromProto(d: { action: AccessBindingAction; binding?: AccessBindingProto | undefined }, i: number): AccessDelta {
  return {
    action: enumFrom(d.action, ACTION, `deltas[${i}].action`)!,
    binding: {
      principalId: d.binding?.principalId ?? '',
      role: enumFrom(d.binding?.role ?? 0, ROLE, `deltas[${i}].binding.role`)!,
    },
  };
}
