import { IamServiceService } from '../../gen/berth/v1/iam_service';
import type { Caller } from '../domain/access';
import { NotFoundError, PermissionDeniedError, ValidationError } from '../domain/errors';
import { mayManageKeysOf, type Iam } from '../control/iam';
import type { CallContext, ServiceHandlers } from './adapter';
import { required } from './common.mapper';
import { apiKeyToProto, bindingToProto, deltaFromProto, principalInputFromProto, principalToProto, roleToProto } from './iam.mapper';

function callerOf(ctx: CallContext): Caller {
  if (!ctx.caller) throw new Error('the chokepoint sets the caller before any handler runs');
  return ctx.caller;
}

/** A server admin, or an admin of some folder (who needs to find principals to grant them roles). */
function seesAllPrincipals(caller: Caller): boolean {
  return caller.principal.serverAdmin || [...caller.roles.values()].includes('admin');
}

export function iamService(iam: Iam): ServiceHandlers<typeof IamServiceService> {
  return {
    async getCaller(_req, ctx) {
      const caller = callerOf(ctx);
      return {
        principal: principalToProto(caller.principal),
        keyId: caller.keyId ?? '',
        roles: Object.fromEntries([...caller.roles].map(([folderId, role]) => [folderId, roleToProto(role)])),
      };
    },
    async createPrincipal(req) {
      if (!req.principal) throw ValidationError.of('principal', 'is required');
      return principalToProto(await iam.createPrincipal(principalInputFromProto(req.principal)));
    },
    async getPrincipal(req, ctx) {
      const caller = callerOf(ctx);
      const id = required(req.principalId, 'principal_id');
      if (id !== caller.principal.id && !seesAllPrincipals(caller)) mayManageKeysOf(caller, id);
      return principalToProto(await iam.getPrincipal(id));
    },
    async listPrincipals(req, ctx) {
      const caller = callerOf(ctx);
      const page = await iam.listPrincipals(req, seesAllPrincipals(caller) ? undefined : [caller.principal.id]);
      return { principals: page.items.map(principalToProto), nextPageToken: page.nextPageToken };
    },
    async deletePrincipal(req, ctx) {
      const id = required(req.principalId, 'principal_id');
      if (id === callerOf(ctx).principal.id) throw new PermissionDeniedError('a principal cannot delete itself; ask another server admin');
      await iam.deletePrincipal(id);
      return {};
    },
    async createKey(req, ctx) {
      const caller = callerOf(ctx);
      const principalId = required(req.principalId, 'principal_id');
      mayManageKeysOf(caller, principalId);
      const input = {
        description: req.key?.description ?? '',
        expireTime: req.key?.expireTime,
        rateLimitPerSecond: req.key?.rateLimitPerSecond ?? 0,
        rateLimitBurst: req.key?.rateLimitBurst ?? 0,
      };
      const own = caller.key;
      if (!caller.principal.serverAdmin && own && own.rateLimitPerSecond > 0 && (input.rateLimitPerSecond === 0 || input.rateLimitPerSecond > own.rateLimitPerSecond))
        throw new PermissionDeniedError(`this key is limited to ${own.rateLimitPerSecond} calls per second; a key it makes may not allow more (key.rate_limit_per_second)`);
      const { key, secret } = await iam.createKey(principalId, input);
      return { key: apiKeyToProto(key), secret };
    },
    async listKeys(req, ctx) {
      const principalId = required(req.principalId, 'principal_id');
      mayManageKeysOf(callerOf(ctx), principalId);
      const page = await iam.listKeys(principalId, req);
      return { keys: page.items.map(apiKeyToProto), nextPageToken: page.nextPageToken };
    },
    async revokeKey(req, ctx) {
      const id = required(req.keyId, 'key_id');
      const caller = callerOf(ctx);
      const key = await iam.getKey(id);
      // Another principal's key is as good as absent to this caller.
      if (!caller.principal.serverAdmin && key.principalId !== caller.principal.id) throw new NotFoundError('key', id, 'key_id');
      return apiKeyToProto(await iam.revokeKey(id));
    },
    async listAccessBindings(req) {
      return { accessBindings: (await iam.accessBindings(required(req.folderId, 'folder_id'))).map(bindingToProto) };
    },
    async updateAccessBindings(req) {
      const folderId = required(req.folderId, 'folder_id');
      const bindings = await iam.updateAccessBindings(folderId, req.deltas.map(deltaFromProto));
      return { accessBindings: bindings.map(bindingToProto) };
    },
  };
}
