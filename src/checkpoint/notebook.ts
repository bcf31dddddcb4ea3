import { ValidationError } from '../domain/errors';

/**
 * The code cells of an .ipynb (nbformat 4). Markdown and raw cells are
 * dropped: the served cell index counts code cells only.
 */
export function codeCellsOf(notebook: string, field = 'notebook'): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(notebook);
  } catch (err) {
    throw ValidationError.of(field, `is not valid JSON: ${(err as Error).message}`);
  }
  const nb = doc as { nbformat?: unknown; cells?: unknown };
  if (nb === null || typeof nb !== 'object' || nb.nbformat !== 4 || !Array.isArray(nb.cells))
    throw ValidationError.of(field, 'is not an nbformat 4 notebook (an object with "nbformat": 4 and "cells")');
  const cells: string[] = [];
  for (const [i, cell] of (nb.cells as unknown[]).entries()) {
    const c = cell as { cell_type?: unknown; source?: unknown };
    if (c?.cell_type !== 'code') continue;
    if (typeof c.source === 'string') cells.push(c.source);
    else if (Array.isArray(c.source) && c.source.every((l) => typeof l === 'string')) cells.push(c.source.join(''));
    else throw ValidationError.of(`${field}.cells[${i}].source`, 'must be a string or a list of strings');
  }
  return cells;
}
