import type { Variable, VariableType } from '../domain/node';
import { aliasShape, nodeShape, type ApiShape, type TypedAlias } from '../domain/typed-api';
import { jsonNameOf } from '../domain/variable-names';
import type { TypedNode } from './node-typed-api';

type Schema = Record<string, unknown>;

function schemaOf(type: VariableType): Schema {
  const m = /^list\[(\w+)\]$/.exec(type);
  if (m) return { type: 'array', items: schemaOf(m[1] as VariableType) };
  switch (type) {
    case 'int':
      // protobuf JSON: int64 as a decimal string, so values beyond 2^53 stay exact (a number is accepted too).
      return { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
    case 'float':
      return { type: 'number', format: 'double', description: 'NaN, Infinity and -Infinity as those strings' };
    case 'str':
      return { type: 'string' };
    case 'bool':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'string', format: 'byte', description: 'base64' };
    case 'list':
      return { type: 'array', items: {} };
    case 'dict':
      return { type: 'object', additionalProperties: true };
    default:
      return {};
  }
}

/**
 * A message in protobuf JSON: properties by their lowerCamel JSON names (a
 * request may also use the variable names). A request may leave any field
 * out (it is then its type's default, as in protobuf); a response has them all.
 */
function objectOf(vars: Variable[], response: boolean): Schema {
  return {
    type: 'object',
    // A request may name a field by its variable name instead; anything else is refused.
    ...(response ? { additionalProperties: false } : {}),
    properties: Object.fromEntries(
      vars.map((v) => [jsonNameOf(v.name), { ...schemaOf(v.type), 'x-berth-type': v.type, 'x-berth-variable': v.name }]),
    ),
    ...(response && vars.length > 0 ? { required: vars.map((v) => jsonNameOf(v.name)) } : {}),
  };
}

const ERROR = {
  type: 'object',
  properties: {
    code: { type: 'integer', description: 'google.rpc.Code' },
    message: { type: 'string' },
    details: { type: 'array', items: { type: 'object', description: 'google.protobuf.Any with @type' } },
  },
};

/**
 * The OpenAPI 3 document of a checkpoint node's typed REST route: the request
 * and response messages of its gRPC service in protobuf JSON (lowerCamel
 * names, int64 as strings), each property typed as declared.
 */
export function nodeOpenApi(node: TypedNode): Record<string, unknown> {
  const shape = nodeShape(node);
  return typedOpenApi(shape, {
    title: `${node.name} (Berth checkpoint node)`,
    version: node.source.checkpointId,
    description: `The typed REST route of node ${node.id}; the same call is ${shape.names.package}.${shape.names.service}/Execute over gRPC.`,
    path: `/v1/nodes/${node.id}/api:execute`,
    notFound: 'No such node.',
  });
}

/**
 * The OpenAPI 3 document of an alias's typed REST route: the same whichever
 * compatible node the alias points to (its fields in name order).
 */
export function aliasOpenApi(alias: TypedAlias): Record<string, unknown> {
  const shape = aliasShape(alias);
  return typedOpenApi(shape, {
    title: `${alias.name} (Berth alias)`,
    version: 'v1',
    description:
      `The typed REST route of alias ${alias.id}; the same call is ${shape.names.package}.${shape.names.service}/Execute over gRPC. ` +
      'Each call goes to one of the nodes the alias points to, picked by weight; the x-berth-node-id header of the answer names it.',
    path: `/v1/aliases/${alias.id}/api:execute`,
    notFound: 'No such alias, or no such node behind it.',
  });
}

function typedOpenApi(shape: ApiShape, o: { title: string; version: string; description: string; path: string; notFound: string }): Record<string, unknown> {
  const { names } = shape;
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return {
    openapi: '3.0.3',
    info: { title: o.title, version: o.version, description: o.description },
    paths: {
      [o.path]: {
        post: {
          operationId: 'execute',
          summary: 'Runs the served cell once with the inputs bound as globals and returns the outputs.',
          description: `The body is ${names.package}.ExecuteRequest and the answer ${names.package}.ExecuteResponse in protobuf JSON: fields by their lowerCamel JSON names (variable names are accepted in the body too), int64 as decimal strings (numbers accepted in the body), bytes as base64; a field left out of the body is its type's default.`,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Inputs' } } } },
          responses: {
            '200': { description: 'The output variables.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Outputs' } } } },
            '400': error('The body is not the request in protobuf JSON, or an input is of the wrong type (the field is named in details).'),
            '404': error(o.notFound),
            '409': error('The cell raised: details hold berth.v1.NodeExecutionErrorDetails {errorName, errorMessage, traceback}.'),
            '413': error('The request or response is over the size limit.'),
            '429': error('Every instance is busy and the queue is full.'),
            '503': error('No instance is healthy.'),
          },
        },
      },
    },
    components: {
      schemas: {
        Inputs: objectOf(shape.inputs, false),
        Outputs: objectOf(shape.outputs, true),
        Error: ERROR,
      },
    },
  };
}
