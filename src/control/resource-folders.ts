import type { ResourceKind } from '../domain/errors';
import { store, type ControlContext } from './context';

/** Kinds of resource that live in a folder. */
export type FolderResourceKind = Extract<ResourceKind, 'node' | 'alias' | 'checkpoint' | 'operation' | 'secret'>;

/** The folder a resource lives in (undefined when it does not exist), for access checks. */
export function folderOf(ctx: ControlContext, kind: FolderResourceKind, id: string): Promise<string | undefined> {
  const s = store(ctx);
  const repository = { node: s.nodes, alias: s.aliases, checkpoint: s.checkpoints, operation: s.operations, secret: s.secrets }[kind];
  return repository.get(id).then((r) => r?.folderId);
}
