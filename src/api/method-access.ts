import { authorize, canSee, LEAST_ROLE, type Caller, type Permission } from '../domain/access';
import { MAX_ALIAS_TARGETS } from '../domain/alias';
import { NotFoundError, PermissionDeniedError } from '../domain/errors';
import { LIMITS } from '../domain/limits';
import type { Authenticator } from '../control/authenticator';
import type { AuditTrail } from '../control/audit-trail';
import type { Logger } from '../logger';
import type { Guardian } from './adapter';
import { toStatusError } from './status';
import { status as Code } from '@grpc/grpc-js';
import type { CallAccess } from '../control/call-access';
import type { FolderResourceKind } from '../control/resource-folders';

/* eslint-disable @typescript-eslint/no-explicit-any -- requests are the decoded messages of each method */
type Req = any;
type Ref = { id: string; field: string };
/** Resources of other kinds a request names (a node's checkpoint, an alias's targets). */
type Refs = (req: Req) => Array<Ref & { kind: FolderResourceKind }>;

/**
 * What a method needs from its caller, decided before its handler runs:
 * - `caller`: any authenticated caller; the handler shows it only what it may see;
 * - `server-admin`: a server admin;
 * - `folder`: a permission in the folder the request names;
 * - `resource`: a permission in the folder of the resource the request names;
 * - `node-call` / `alias-call`: the data plane's checks (role, node ACL, alias access, rate limit).
 */
export type AccessRule =
  | { kind: 'caller' }
  | { kind: 'server-admin' }
  | { kind: 'folder'; permission: Permission; folder: (req: Req) => Ref; refs?: Refs }
  | { kind: 'resource'; permission: Permission; resource: FolderResourceKind; id: (req: Req) => Ref; refs?: Refs }
  | { kind: 'node-call'; node: (req: Req) => Ref; via: (req: Req) => string }
  | { kind: 'alias-call'; folder: (req: Req) => string; alias: (req: Req) => string }
  | { kind: 'audit' };

const folder = (permission: Permission, field: string, get: (req: Req) => string | undefined, refs?: Refs): AccessRule => ({
  kind: 'folder',
  permission,
  folder: (req) => ({ id: get(req) ?? '', field }),
  refs,
});
const resource = (permission: Permission, kind: FolderResourceKind, field: string, get: (req: Req) => string | undefined, refs?: Refs): AccessRule => ({
  kind: 'resource',
  permission,
  resource: kind,
  id: (req) => ({ id: get(req) ?? '', field }),
  refs,
});
/** The secrets a Docker node's spec names (more than a spec may hold are refused by the handler). */
const secretsOf: Refs = (r) => {
  const docker = r.node?.spec?.docker;
  if (!docker) return [];
  const registry = docker.registrySecretId ? [{ kind: 'secret' as const, id: docker.registrySecretId as string, field: 'node.spec.docker.registry_secret_id' }] : [];
  const env = ((docker.envFromSecrets ?? []) as Array<{ secretId?: string }>)
    .slice(0, LIMITS.envFromSecrets)
    .flatMap((e, i) => (e.secretId ? [{ kind: 'secret' as const, id: e.secretId, field: `node.spec.docker.env_from_secrets[${i}].secret_id` }] : []));
  return [...registry, ...env];
};
const checkpointOf: Refs = (r) => {
  const id = r.node?.spec?.checkpoint?.checkpointId;
  return [...(id ? [{ kind: 'checkpoint' as const, id, field: 'node.spec.checkpoint.checkpoint_id' }] : []), ...secretsOf(r)];
};
/** More targets than an alias may have are refused by the handler before any is looked at. */
const targetsOf: Refs = (r) =>
  ((r.alias?.targets ?? []) as Array<{ nodeId?: string }>).slice(0, MAX_ALIAS_TARGETS).flatMap((t, i) => (t.nodeId ? [{ kind: 'node' as const, id: t.nodeId, field: `alias.targets[${i}].node_id` }] : []));

/** Every method Berth serves, by gRPC path: a method missing here is refused to everyone but a server admin. */
export const ACCESS_RULES: Record<string, AccessRule> = {
  '/berth.v1.FolderService/CreateFolder': { kind: 'server-admin' },
  '/berth.v1.FolderService/GetFolder': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.FolderService/ListFolders': { kind: 'caller' },
  '/berth.v1.FolderService/UpdateFolder': folder('admin', 'folder.id', (r) => r.folder?.id),
  '/berth.v1.FolderService/DeleteFolder': { kind: 'server-admin' },

  '/berth.v1.NodeService/CreateNode': folder('write', 'node.folder_id', (r) => r.node?.folderId, checkpointOf),
  '/berth.v1.NodeService/GetNode': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/ListNodes': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.NodeService/UpdateNode': resource('write', 'node', 'node.id', (r) => r.node?.id, secretsOf),
  '/berth.v1.NodeService/DeleteNode': resource('write', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/SuspendNode': resource('write', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/ResumeNode': resource('write', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/ListInstances': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/GetNodeApi': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/ListNodeLogs': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/StreamNodeLogs': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/ListNodeEvents': resource('read', 'node', 'node_id', (r) => r.nodeId),
  '/berth.v1.NodeService/Execute': { kind: 'node-call', node: (r) => ({ id: r.nodeId ?? '', field: 'node_id' }), via: (r) => r.folderId ?? '' },
  '/berth.v1.NodeService/ExecuteAlias': { kind: 'alias-call', folder: (r) => r.folderId ?? '', alias: (r) => r.aliasName ?? '' },

  '/berth.v1.AliasService/CreateAlias': folder('write', 'alias.folder_id', (r) => r.alias?.folderId, targetsOf),
  '/berth.v1.AliasService/GetAlias': resource('read', 'alias', 'alias_id', (r) => r.aliasId),
  '/berth.v1.AliasService/ListAliases': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.AliasService/UpdateAlias': resource('write', 'alias', 'alias.id', (r) => r.alias?.id, targetsOf),
  '/berth.v1.AliasService/DeleteAlias': resource('write', 'alias', 'alias_id', (r) => r.aliasId),

  '/berth.v1.CheckpointService/CreateCheckpoint': folder('write', 'folder_id', (r) => r.folderId),
  '/berth.v1.CheckpointService/GetCheckpoint': resource('read', 'checkpoint', 'checkpoint_id', (r) => r.checkpointId),
  '/berth.v1.CheckpointService/ListCheckpoints': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.CheckpointService/DeleteCheckpoint': resource('write', 'checkpoint', 'checkpoint_id', (r) => r.checkpointId),

  '/berth.v1.OperationService/GetOperation': resource('read', 'operation', 'operation_id', (r) => r.operationId),
  '/berth.v1.OperationService/ListOperations': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.OperationService/WaitOperation': resource('read', 'operation', 'operation_id', (r) => r.operationId),
  '/berth.v1.OperationService/CancelOperation': resource('write', 'operation', 'operation_id', (r) => r.operationId),

  '/berth.v1.SecretService/CreateSecret': folder('write', 'folder_id', (r) => r.folderId),
  '/berth.v1.SecretService/GetSecret': resource('read', 'secret', 'secret_id', (r) => r.secretId),
  '/berth.v1.SecretService/ListSecrets': folder('read', 'folder_id', (r) => r.folderId),
  '/berth.v1.SecretService/UpdateSecret': resource('write', 'secret', 'secret.id', (r) => r.secret?.id),
  '/berth.v1.SecretService/AddSecretVersion': resource('write', 'secret', 'secret_id', (r) => r.secretId),
  '/berth.v1.SecretService/DeleteSecret': resource('write', 'secret', 'secret_id', (r) => r.secretId),

  // The IAM handlers narrow these to the caller's own principal, keys and folders.
  '/berth.v1.IamService/GetCaller': { kind: 'caller' },
  '/berth.v1.IamService/CreatePrincipal': { kind: 'server-admin' },
  '/berth.v1.IamService/GetPrincipal': { kind: 'caller' },
  '/berth.v1.IamService/ListPrincipals': { kind: 'caller' },
  '/berth.v1.IamService/DeletePrincipal': { kind: 'server-admin' },
  '/berth.v1.IamService/CreateKey': { kind: 'caller' },
  '/berth.v1.IamService/ListKeys': { kind: 'caller' },
  '/berth.v1.IamService/RevokeKey': { kind: 'caller' },
  '/berth.v1.IamService/ListAccessBindings': folder('admin', 'folder_id', (r) => r.folderId),
  '/berth.v1.IamService/UpdateAccessBindings': folder('admin', 'folder_id', (r) => r.folderId),

  // A folder's records: its admins; the server-wide ones (empty folder_id): server admins.
  '/berth.v1.AuditService/ListAuditRecords': { kind: 'audit' },
};

/** Methods that change something: every call of one by an authenticated caller is audited. */
export function isWrite(path: string): boolean {
  return /\/(Create|Update|Delete|Suspend|Resume|Cancel|Revoke|Add)[A-Za-z]*$/.test(path);
}

const RESOURCE_NAMES: Record<FolderResourceKind, string> = { node: 'node', alias: 'alias', checkpoint: 'checkpoint', operation: 'operation', secret: 'secret' };

/**
 * Who may call a method, in words, for documents such as the OpenAPI
 * description: the least role and where it is needed.
 */
export function describeAccess(path: string): string {
  const rule = ACCESS_RULES[path];
  if (!rule) return 'A server admin.';
  const role = (p: Permission) => `the ${LEAST_ROLE[p]} role or higher`;
  switch (rule.kind) {
    case 'caller':
      return 'Any caller with a valid key; the answer holds only what the caller may see.';
    case 'server-admin':
      return 'A server admin.';
    case 'folder':
      return `${capitalized(role(rule.permission))} in the folder named by \`${rule.folder({}).field}\` (server admins: everywhere).`;
    case 'resource':
      return `${capitalized(role(rule.permission))} in the folder of the ${RESOURCE_NAMES[rule.resource]} named by \`${rule.id({}).field}\` (server admins: everywhere).`;
    case 'node-call':
      return `${capitalized(role('call'))} in the node's folder or in a folder of its ACL; counted against the key's rate limit.`;
    case 'alias-call':
      return `For a public alias any caller with a valid key; for a private one ${role('call')} in the alias's folder; counted against the key's rate limit.`;
    case 'audit':
      return "A folder's records: the admin role in that folder; the server-wide records: a server admin.";
  }
}

const capitalized = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

export interface AccessDeps {
  calls: CallAccess;
  folderOf(kind: FolderResourceKind, id: string): Promise<string | undefined>;
  audit: AuditTrail;
  log: Logger;
}

/** The folder and resource an audited call concerned, from its rule and its answer. */
async function auditSubject(path: string, request: Req, response: any, deps: AccessDeps): Promise<{ folderId: string; resourceId: string }> {
  const rule = ACCESS_RULES[path];
  const made: string = response?.resourceId || response?.id || response?.key?.id || '';
  if (rule?.kind === 'folder') return { folderId: rule.folder(request).id, resourceId: made };
  if (rule?.kind === 'resource') {
    const ref = rule.id(request);
    return { folderId: (ref.id && (await deps.folderOf(rule.resource, ref.id))) || '', resourceId: ref.id };
  }
  return { folderId: '', resourceId: made || request?.principalId || request?.keyId || '' };
}

/**
 * Checks a call against its method's rule. An empty id is left to the
 * handler, which refuses it as INVALID_ARGUMENT naming the field (nothing
 * can be reached through it). A resource that does not exist is NOT_FOUND
 * here already, exactly as the handler would answer.
 */
export async function checkAccess(path: string, request: Req, caller: Caller, deps: AccessDeps): Promise<void> {
  const rule = ACCESS_RULES[path] ?? ({ kind: 'server-admin' } as const);
  switch (rule.kind) {
    case 'caller':
      return;
    case 'server-admin':
      if (!caller.principal.serverAdmin) throw new PermissionDeniedError(`only a server admin may call ${path.slice(path.lastIndexOf('/') + 1)}`);
      return;
    case 'folder': {
      const ref = rule.folder(request);
      if (ref.id) authorize(caller, rule.permission, ref.id, { kind: 'folder', id: ref.id, field: ref.field });
      return mustSee(caller, rule.refs?.(request), deps);
    }
    case 'resource': {
      const ref = rule.id(request);
      if (!ref.id || caller.principal.serverAdmin) return;
      const folderId = await deps.folderOf(rule.resource, ref.id);
      if (folderId === undefined) throw new NotFoundError(rule.resource, ref.id, ref.field);
      authorize(caller, rule.permission, folderId, { kind: rule.resource, id: ref.id, field: ref.field });
      return mustSee(caller, rule.refs?.(request), deps);
    }
    case 'node-call': {
      const ref = rule.node(request);
      if (ref.id) await deps.calls.node(caller, ref.id, rule.via(request), ref.field);
      return;
    }
    case 'audit':
      if (request.folderId) authorize(caller, 'admin', request.folderId, { kind: 'folder', id: request.folderId, field: 'folder_id' });
      else if (!caller.principal.serverAdmin) throw new PermissionDeniedError('only a server admin may list the server-wide audit records; name a folder_id');
      return;
    case 'alias-call': {
      const folderId = rule.folder(request);
      const name = rule.alias(request);
      if (folderId && name) await deps.calls.alias(caller, folderId, name);
      return;
    }
  }
}

/**
 * Resources a request names besides its subject must be in folders the caller
 * sees: one elsewhere is NOT_FOUND, exactly as one that does not exist, so
 * that naming another folder's checkpoint or node tells nothing about it
 * (the handler, which says where it is, answers only those who may see it).
 */
async function mustSee(caller: Caller, refs: Array<Ref & { kind: FolderResourceKind }> | undefined, deps: AccessDeps): Promise<void> {
  if (!refs || caller.principal.serverAdmin) return;
  for (const ref of refs) {
    const folderId = await deps.folderOf(ref.kind, ref.id);
    if (folderId === undefined || !canSee(caller, folderId)) throw new NotFoundError(ref.kind, ref.id, ref.field);
  }
}

/** The chokepoint's guardian: API keys verified by `auth`, calls checked against {@link ACCESS_RULES}. */
export function accessGuardian(auth: Authenticator, deps: AccessDeps): Guardian {
  return {
    callerOf: (headers) => auth.authenticate(headers.authorization),
    check: (path, request, caller) => checkAccess(path, request, caller, deps),
    async record(path, request, outcome, ctx) {
      if (!isWrite(path)) return;
      const status = outcome.error === undefined ? undefined : toStatusError(outcome.error);
      try {
        const subject = await auditSubject(path, request, outcome.response, deps);
        await deps.audit.record({
          ...subject,
          principalId: ctx.caller.principal.id,
          principalName: ctx.caller.principal.name,
          keyId: ctx.caller.keyId ?? '',
          method: path.slice(1),
          result: Code[status?.code ?? Code.OK] ?? 'UNKNOWN',
          message: status?.message ?? '',
          requestId: ctx.requestId,
        });
      } catch (err) {
        // The write itself happened (or was refused) and its answer stands; the missing record is logged loudly.
        ctx.log.error({ err, method: path }, 'cannot write the audit record of a call');
      }
    },
  };
}
