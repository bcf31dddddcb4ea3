import { AliasServiceService } from '../../gen/berth/v1/alias_service';
import type { Aliases } from '../control/aliases';
import { ValidationError } from '../domain/errors';
import type { ServiceHandlers } from './adapter';
import { aliasInputFromProto, aliasToProto } from './alias.mapper';
import { required } from './common.mapper';
import { applyFieldMask } from './field-mask';

export function aliasService(aliases: Aliases): ServiceHandlers<typeof AliasServiceService> {
  return {
    async createAlias(req) {
      if (!req.alias) throw ValidationError.of('alias', 'is required');
      return aliasToProto(await aliases.create(aliasInputFromProto(req.alias)));
    },
    async getAlias(req) {
      return aliasToProto(await aliases.get(required(req.aliasId, 'alias_id')));
    },
    async listAliases(req) {
      const page = await aliases.list(required(req.folderId, 'folder_id'), req, req.filter);
      return { aliases: page.items.map(aliasToProto), nextPageToken: page.nextPageToken };
    },
    async updateAlias(req) {
      const patch = req.alias;
      if (!patch) throw ValidationError.of('alias', 'is required');
      const updated = await aliases.update(
        required(patch.id, 'alias.id'),
        (current) => {
          const currentProto = aliasToProto({ ...current, id: patch.id, createTime: new Date(0), updateTime: new Date(0), version: 0 });
          return aliasInputFromProto(applyFieldMask('berth.v1.Alias', currentProto, patch, req.updateMask ?? []));
        },
        patch.etag || undefined,
      );
      return aliasToProto(updated);
    },
    async deleteAlias(req) {
      await aliases.delete(required(req.aliasId, 'alias_id'), req.etag || undefined);
      return {};
    },
  };
}
