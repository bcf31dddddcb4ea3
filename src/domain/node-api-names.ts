/** The names of a checkpoint node's generated API. */
export interface NodeApiNames {
  /** e.g. `berth.nodes.team_a.price_model.v1`. */
  package: string;
  /** e.g. `PriceModelService`. */
  service: string;
  /** The `.proto` file's name, its directory matching the package: `berth/nodes/team_a/price_model/v1/api.proto`. */
  file: string;
}

/** A DNS label as a lower_snake_case package component, and the lengths of its runs of "-" (to tell "a-b" from "a--b"). */
function component(label: string): { name: string; runs: number[] } {
  const runs = (label.match(/-+/g) ?? []).map((r) => r.length);
  const name = label.replace(/-+/g, '_');
  return { name: /^[0-9]/.test(name) ? `n${name}` : name, runs };
}

/**
 * The names of a node's generated API, made of its folder's name (unique
 * server-wide) and its own name (unique in its folder), not of its id: a node
 * replaced by a new one of the same name and folder keeps its API, and stubs
 * keep working. Node "price-model" in folder "team-a" is
 * `berth.nodes.team_a.price_model.v1.PriceModelService`; the package is
 * lint-clean (lower_snake_case components, a version suffix) and its file
 * lies in the matching directory.
 *
 * Names are DNS labels, so "-" → "_" tells them apart, except where a name
 * holds "--" (lower_snake_case allows no "__"): then one more component,
 * `r_<runs of "-" in the folder's name>_n_<runs in the node's>`, keeps the
 * package unique (node "xn--p1ai" in folder "ml" → `berth.nodes.ml.xn_p1ai.r_n_2.v1`).
 * Names start with a letter; a leading digit would get an "n" before it.
 */
export function nodeApiNames(folderName: string, nodeName: string): NodeApiNames {
  const folder = component(folderName);
  const node = component(nodeName);
  const parts = ['berth', 'nodes', folder.name, node.name];
  if ([...folder.runs, ...node.runs].some((n) => n > 1)) parts.push(['r', ...folder.runs].join('_') + '_' + ['n', ...node.runs].join('_'));
  parts.push('v1');
  const pascal = nodeName
    .split('-')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  return { package: parts.join('.'), service: `${/^[A-Z]/.test(pascal) ? pascal : `N${pascal}`}Service`, file: `${parts.join('/')}/api.proto` };
}
