import type { Variable, VariableType } from '../domain/node';
import { nodeApiNames } from '../domain/node-api-names';
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
  const names = nodeApiNames(node.folderName, node.name);
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return {
    openapi: '3.0.3',
    info: {
      title: `${node.name} (Berth checkpoint node)`,
      version: node.source.checkpointId,
      description: `The typed REST route of node ${node.id}; the same call is ${names.package}.${names.service}/Execute over gRPC.`,
    },
    paths: {
      [`/v1/nodes/${node.id}/api:execute`]: {
        post: {
          operationId: 'execute',
          summary: 'Runs the served cell once with the inputs bound as globals and returns the outputs.',
          description: `The body is ${names.package}.ExecuteRequest and the answer ${names.package}.ExecuteResponse in protobuf JSON: fields by their lowerCamel JSON names (variable names are accepted in the body too), int64 as decimal strings (numbers accepted in the body), bytes as base64; a field left out of the body is its type's default.`,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Inputs' } } } },
          responses: {
            '200': { description: 'The output variables.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Outputs' } } } },
            '400': error('The body is not the request in protobuf JSON, or an input is of the wrong type (the field is named in details).'),
            '404': error('No such node.'),
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
        Inputs: objectOf(node.source.inputVariables, false),
        Outputs: objectOf(node.source.outputVariables, true),
        Error: ERROR,
      },
    },
  };
}
