import { FolderServiceService } from '../../gen/berth/v1/folder_service';
import { Folder as FolderProto } from '../../gen/berth/v1/folder';
import type { Folders } from '../control/folders';
import { ValidationError } from '../domain/errors';
import type { ServiceHandlers } from './adapter';
import { required } from './common.mapper';
import { applyFieldMask } from './field-mask';
import { folderInputFromProto, folderToProto } from './folder.mapper';

export function folderService(folders: Folders): ServiceHandlers<typeof FolderServiceService> {
  return {
    async createFolder(req) {
      if (!req.folder) throw ValidationError.of('folder', 'is required');
      return folderToProto(await folders.create(folderInputFromProto(req.folder)));
    },
    async getFolder(req) {
      return folderToProto(await folders.get(required(req.folderId, 'folder_id')));
    },
    async listFolders(req, ctx) {
      const caller = ctx.caller;
      // A caller sees the folders it holds a role in; a server admin sees all.
      const page = await folders.list(req, req.filter, caller?.principal.serverAdmin ? undefined : [...(caller?.roles.keys() ?? [])]);
      return { folders: page.items.map(folderToProto), nextPageToken: page.nextPageToken };
    },
    async updateFolder(req) {
      const patch = req.folder;
      if (!patch) throw ValidationError.of('folder', 'is required');
      const updated = await folders.update(
        required(patch.id, 'folder.id'),
        (current) => folderInputFromProto(applyFieldMask('berth.v1.Folder', { ...FolderProto.fromPartial({}), ...current }, patch, req.updateMask ?? [])),
        patch.etag || undefined,
      );
      return folderToProto(updated);
    },
    async deleteFolder(req) {
      await folders.delete(required(req.folderId, 'folder_id'), req.etag || undefined);
      return {};
    },
  };
}
