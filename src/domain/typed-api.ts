import type { CheckpointSource, NodeSpec, Variable } from './node';
import { aliasApiNames, nodeApiNames, type NodeApiNames } from './node-api-names';

/**
 * What a generated API is made of: its names and the fields of its request
 * and response messages, in field-number order.
 */
export interface ApiShape {
  names: NodeApiNames;
  inputs: Variable[];
  outputs: Variable[];
}

/** A checkpoint node as far as its generated API is concerned. */
export interface TypedNode {
  id: string;
  name: string;
  folderId: string;
  /** The folder's name: part of the API's package. */
  folderName: string;
  source: CheckpointSource;
}

/**
 * An alias in front of checkpoint nodes, as far as its generated API is
 * concerned: the inputs and outputs every target has (checked whenever the
 * targets change).
 */
export interface TypedAlias {
  id: string;
  name: string;
  folderId: string;
  folderName: string;
  inputs: Variable[];
  outputs: Variable[];
}

/** A node's API: its variables in the order the node declares them. */
export function nodeShape(node: TypedNode): ApiShape {
  return { names: nodeApiNames(node.folderName, node.name), inputs: node.source.inputVariables, outputs: node.source.outputVariables };
}

const byName = (vars: Variable[]): Variable[] => [...vars].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * An alias's API: its fields in name order, so that the API (and its field
 * numbers) is the same whichever compatible node the alias points to, even
 * one that declares the same variables in another order.
 */
export function aliasShape(alias: TypedAlias): ApiShape {
  return { names: aliasApiNames(alias.folderName, alias.name), inputs: byName(alias.inputs), outputs: byName(alias.outputs) };
}

/**
 * What callers of an alias rely on staying the same whichever target
 * answers: for checkpoint nodes, the inputs and outputs (names and types,
 * order aside), which make the alias's typed API; for Docker nodes, the
 * endpoint's protocol.
 */
export function apiSignature(spec: NodeSpec): string {
  const src = spec.source;
  if (src.kind === 'docker') return `docker endpoint ${src.endpoint.type}`;
  const list = (vars: Variable[]) => byName(vars).map((v) => `${v.name}: ${v.type}`).join(', ');
  return `checkpoint inputs (${list(src.inputVariables)}) and outputs (${list(src.outputVariables)})`;
}
