import type { Folder as FolderProto } from '../../gen/berth/v1/folder';
import type { Folder, FolderInput } from '../domain/folder';
import { etagOf } from '../store/translate';

export function folderToProto(f: Folder): FolderProto {
  return {
    id: f.id,
    name: f.name,
    description: f.description,
    labels: f.labels,
    createTime: f.createTime,
    updateTime: f.updateTime,
    etag: etagOf(f.version),
  };
}

export function folderInputFromProto(p: FolderProto): FolderInput {
  return { name: p.name, description: p.description, labels: p.labels };
}
