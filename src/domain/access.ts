import { NotFoundError, PermissionDeniedError, type ResourceKind } from './errors';
import { Violations, checkDescription, checkName } from './validation';

/**
 * Who may do what. Pure: the caller's principal and roles come in, a verdict
 * goes out. The roles are ordered: each allows what the one before it allows.
 */
export const ROLES = ['viewer', 'user', 'developer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a method needs in the folder it touches:
 * - read: see the folder's resources;
 * - call: call its nodes and aliases (the data plane);
 * - write: create, change and delete nodes, aliases, checkpoints and secrets;
 * - admin: manage the folder itself, its access bindings and its audit records.
 */
export type Permission = 'read' | 'call' | 'write' | 'admin';

export const LEAST_ROLE: Readonly<Record<Permission, Role>> = { read: 'viewer', call: 'user', write: 'developer', admin: 'admin' };

export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(LEAST_ROLE[permission]);
}

export type PrincipalKind = 'user' | 'service_account';

export interface Principal {
  id: string;
  name: string;
  description: string;
  kind: PrincipalKind;
  serverAdmin: boolean;
  createTime: Date;
}

export type PrincipalInput = Pick<Principal, 'name' | 'description' | 'kind' | 'serverAdmin'>;

export function validatePrincipal(input: PrincipalInput, prefix = 'principal'): void {
  const v = new Violations();
  checkName(v, `${prefix}.name`, input.name);
  checkDescription(v, `${prefix}.description`, input.description);
  v.throwIfAny();
}

export interface ApiKey {
  id: string;
  principalId: string;
  description: string;
  createTime: Date;
  expireTime?: Date;
  revokeTime?: Date;
  /** Data-plane calls per second; 0: no limit. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  callCount: number;
  lastUsedTime?: Date;
}

export type ApiKeyInput = Pick<ApiKey, 'description' | 'expireTime' | 'rateLimitPerSecond' | 'rateLimitBurst'>;

/** Rates above this are refused as a typo rather than taken as "no limit". */
const MAX_RATE = 1_000_000;

export function validateApiKey(input: ApiKeyInput, now: Date, prefix = 'key'): void {
  const v = new Violations();
  checkDescription(v, `${prefix}.description`, input.description);
  if (input.expireTime && input.expireTime.getTime() <= now.getTime()) v.add(`${prefix}.expire_time`, 'is in the past');
  if (!Number.isFinite(input.rateLimitPerSecond) || input.rateLimitPerSecond < 0 || input.rateLimitPerSecond > MAX_RATE)
    v.add(`${prefix}.rate_limit_per_second`, `must be from 0 (no limit) to ${MAX_RATE}`);
  if (!Number.isInteger(input.rateLimitBurst) || input.rateLimitBurst < 0 || input.rateLimitBurst > MAX_RATE)
    v.add(`${prefix}.rate_limit_burst`, `must be a whole number from 0 to ${MAX_RATE}`);
  v.throwIfAny();
}

/** Why a key is refused, or undefined when it may be used at `now`. */
export function keyRefusal(key: Pick<ApiKey, 'expireTime' | 'revokeTime'>, now: Date): string | undefined {
  if (key.revokeTime) return 'the API key was revoked';
  if (key.expireTime && key.expireTime.getTime() <= now.getTime()) return 'the API key has expired';
  return undefined;
}

export interface AccessBinding {
  folderId: string;
  principalId: string;
  role: Role;
}

/** An authenticated caller: its principal, the key of the call, its roles by folder id. */
export interface Caller {
  principal: Principal;
  /** Undefined under `--auth none`. */
  keyId?: string;
  /** The key of the call, for its rate limit; undefined under `--auth none`. */
  key?: Pick<ApiKey, 'id' | 'rateLimitPerSecond' | 'rateLimitBurst'>;
  roles: ReadonlyMap<string, Role>;
  /** Under `--auth none` every caller is this one: a server admin without a key. */
  anonymous?: boolean;
}

/** A folder's resource a method names, for the NOT_FOUND a caller gets when it may not see the folder. */
export interface Subject {
  kind: ResourceKind;
  id: string;
  field?: string;
}

export function can(caller: Caller, permission: Permission, folderId: string): boolean {
  if (caller.principal.serverAdmin) return true;
  const role = caller.roles.get(folderId);
  return role !== undefined && roleAllows(role, permission);
}

/** Whether the caller may see that the folder (and what is in it) exists. */
export function canSee(caller: Caller, folderId: string): boolean {
  return caller.principal.serverAdmin || caller.roles.has(folderId);
}

/**
 * Passes when the caller has `permission` in the folder. A caller that may
 * see the folder hears PERMISSION_DENIED; one that may not hears that the
 * resource it named does not exist, as if it did not: nothing tells it what
 * other folders hold.
 */
export function authorize(caller: Caller, permission: Permission, folderId: string, subject: Subject): void {
  if (can(caller, permission, folderId)) return;
  if (!canSee(caller, folderId)) throw new NotFoundError(subject.kind, subject.id, subject.field);
  throw new PermissionDeniedError(`${caller.principal.name} may not ${permission === 'admin' ? 'administer' : permission} in folder ${folderId}: that needs the ${LEAST_ROLE[permission]} role or higher`);
}

/** What deciding whether a caller may call a node takes. */
export interface CallTarget {
  nodeId: string;
  folderId: string;
  /** Folders (besides the node's own) whose principals may call the node. */
  aclFolderIds: readonly string[];
}

/**
 * Whether the caller may call the node: the `call` permission in the node's
 * folder or in a folder of its ACL. `viaFolderId` (the caller's `x-folder-id`
 * or `folder_id`) narrows that to one folder, which must qualify: a hint that
 * does not is refused, never ignored.
 */
export function authorizeNodeCall(caller: Caller, target: CallTarget, viaFolderId: string | undefined, subject: Subject): void {
  const allowed = (folderId: string) => (folderId === target.folderId || target.aclFolderIds.includes(folderId)) && can(caller, 'call', folderId);
  if (viaFolderId ? allowed(viaFolderId) : caller.principal.serverAdmin || allowed(target.folderId) || target.aclFolderIds.some(allowed)) return;
  const visible = canSee(caller, target.folderId) || target.aclFolderIds.some((f) => canSee(caller, f));
  if (!visible) throw new NotFoundError(subject.kind, subject.id, subject.field);
  throw new PermissionDeniedError(
    viaFolderId
      ? `${caller.principal.name} may not call node ${target.nodeId} as folder ${viaFolderId}: the folder must be the node's own or in its ACL, with the user role or higher there`
      : `${caller.principal.name} may not call node ${target.nodeId}: that needs the user role or higher in its folder or in a folder of its ACL`,
  );
}

/**
 * Whether the caller may call through an alias: a public alias admits any
 * authenticated principal, a private one the principals with the `call`
 * permission in the alias's folder.
 */
export function authorizeAliasCall(caller: Caller, alias: { folderId: string; name: string; access: 'private' | 'public' }, subject: Subject): void {
  if (alias.access === 'public') return;
  authorize(caller, 'call', alias.folderId, subject);
}
