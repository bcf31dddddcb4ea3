import { Violations, checkDescription, checkLabels, checkName } from './validation';

/** The id of the folder that exists from the first start on. */
export const DEFAULT_FOLDER_ID = 'default';

export interface Folder {
  id: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  createTime: Date;
  updateTime: Date;
  /** Optimistic-lock version; the API shows it as the etag. */
  version: number;
}

/** The user-settable part of a folder. */
export type FolderInput = Pick<Folder, 'name' | 'description' | 'labels'>;

export function validateFolder(input: FolderInput, prefix = 'folder'): void {
  const v = new Violations();
  checkName(v, `${prefix}.name`, input.name);
  checkDescription(v, `${prefix}.description`, input.description);
  checkLabels(v, `${prefix}.labels`, input.labels);
  v.throwIfAny();
}
