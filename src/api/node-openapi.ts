import type { Variable, VariableType } from '../domain/node';
import { nodeApiNames } from '../domain/variables';
import type { TypedNode } from './node-typed-api';

type Schema = Record<string, unknown>;

function schemaOf(type: VariableType): Schema {
  const m = /^list\[(\w+)\]$/.exec(type);
  if (m) return { type: 'array', items: schemaOf(m[1] as VariableType) };
  switch (type) {
    case 'int':
      return { type: 'integer', format: 'int64' };
    case 'float':
      return { type: 'number', format: 'double' };
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

function objectOf(vars: Variable[], required: boolean): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(vars.map((v) => [v.name, { ...schemaOf(v.type), 'x-berth-type': v.type }])),
    ...(required && vars.length > 0 ? { required: vars.map((v) => v.name) } : {}),
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
 * The OpenAPI 3 document of a checkpoint node's typed REST route: the inputs
 * as the request body, the outputs as the response, each property typed as
 * declared.
 */
export function nodeOpenApi(node: TypedNode): Record<string, unknown> {
  const names = nodeApiNames(node.id, node.name);
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
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Inputs' } } } },
          responses: {
            '200': { description: 'The output variables.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Outputs' } } } },
            '400': error('An input is missing, unknown or of the wrong type (the field is named in details).'),
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
        Inputs: objectOf(node.source.inputVariables, true),
        Outputs: objectOf(node.source.outputVariables, true),
        Error: ERROR,
      },
    },
  };
}
