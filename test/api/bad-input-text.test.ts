/**
 * Bad text and bad bytes: a NUL in every kind of string, invalid UTF-8 in
 * REST JSON and in protobuf strings, malformed protobuf, bad ids. Each is
 * INVALID_ARGUMENT (or NOT_FOUND) naming the field, over gRPC and REST, on
 * both databases, with nothing stored changed. Regression: a NUL in a
 * description, metadata or id was a 500 on both databases, and malformed
 * protobuf was INTERNAL.
 */
import { status as Code } from '@grpc/grpc-js';
import { CreateAliasRequest, GetAliasRequest, ListAliasesRequest, UpdateAliasRequest } from '../../gen/berth/v1/alias_service';
import { CreateCheckpointRequest, GetCheckpointRequest } from '../../gen/berth/v1/checkpoint_service';
import { CreateFolderRequest, DeleteFolderRequest, GetFolderRequest, ListFoldersRequest, UpdateFolderRequest } from '../../gen/berth/v1/folder_service';
import { EndpointType, VariableType } from '../../gen/berth/v1/node';
import { AliasExecutionRequest, CreateNodeRequest, GetNodeRequest, ListNodesRequest, NodeExecutionRequest, UpdateNodeRequest } from '../../gen/berth/v1/node_service';
import { GetOperationRequest, ListOperationsRequest } from '../../gen/berth/v1/operation_service';
import { badInputSuite, type BadCase, type Fixture } from '../helpers/bad-input-suite';
import { binaryOf, patchBytes, viaGrpc, viaRawGrpc, viaRest } from '../helpers/refusals';

const NUL = 'a\u0000b';
const BAD = Code.INVALID_ARGUMENT;

function cases(fx: Fixture): BadCase[] {
  const { c, folder, node, alias } = fx;
  const out: BadCase[] = [];
  const r = (label: string, method: string, path: string, body: unknown, field: string | RegExp, code = BAD, http = 400) =>
    out.push({ label: `REST ${label}`, run: () => viaRest(fx.http, method, path, body), code, field, http });
  const g = (label: string, client: object, method: string, request: unknown, field: string | RegExp, code = BAD) =>
    out.push({ label: `gRPC ${label}`, run: () => viaGrpc(client, method, request), code, field });
  const raw = (label: string, path: string, bytes: Buffer, field: string | RegExp) =>
    out.push({ label: `raw gRPC ${label}`, run: () => viaRawGrpc(fx.grpc, path, bytes), code: BAD, field });

  const docker = (extra: Record<string, unknown> = {}) => ({ image: 'berth-test-http:latest', endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 }, ...extra });
  const gDocker = (extra: Record<string, unknown> = {}) => ({ image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 }, ...extra });
  const restNode = (spec: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ folderId: folder.id, name: 'n1', spec, ...top });
  const grpcNode = (spec: Record<string, unknown>, top: Record<string, unknown> = {}) => CreateNodeRequest.fromPartial({ node: { folderId: folder.id, name: 'n1', spec, ...top } as never });
  const target = [{ nodeId: node.id, weight: 100 }];

  // A NUL in every kind of string a caller sends: names, descriptions, label and metadata keys and values,
  // image references, env names and values, argv, paths, ids, variable names, cell sources, filters, tokens, masks.
  const nulBodies: Array<[label: string, rest: Record<string, unknown>, grpc: Record<string, unknown>, field: string | RegExp]> = [
    ['node description', { description: NUL }, { description: NUL }, 'node.description'],
    ['node name', { name: NUL }, { name: NUL }, 'node.name'],
    ['node label value', { labels: { team: NUL } }, { labels: { team: NUL } }, 'node.labels.team'],
    ['node label key', { labels: { [NUL]: 'x' } }, { labels: { [NUL]: 'x' } }, /^node\.labels\.a/],
    ['image', { spec: { docker: docker({ image: `x${NUL}` }) } }, { spec: { docker: gDocker({ image: `x${NUL}` }) } }, 'node.spec.docker.image'],
    ['env value', { spec: { docker: docker({ env: { A: NUL } }) } }, { spec: { docker: gDocker({ env: { A: NUL } }) } }, 'node.spec.docker.env.A'],
    ['env name', { spec: { docker: docker({ env: { [NUL]: 'x' } }) } }, { spec: { docker: gDocker({ env: { [NUL]: 'x' } }) } }, /^node\.spec\.docker\.env\./],
    ['command', { spec: { docker: docker({ command: ['sh', NUL] }) } }, { spec: { docker: gDocker({ command: ['sh', NUL] }) } }, 'node.spec.docker.command[1]'],
    ['args', { spec: { docker: docker({ args: [NUL] }) } }, { spec: { docker: gDocker({ args: [NUL] }) } }, 'node.spec.docker.args[0]'],
    [
      'health check path',
      { spec: { docker: docker({ healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: `/${NUL}` } }) } },
      { spec: { docker: gDocker({ healthCheck: { type: 1, path: `/${NUL}` } }) } },
      'node.spec.docker.health_check.path',
    ],
    ['telemetry path', { spec: { docker: docker({ telemetry: { httpPath: `/${NUL}`, port: 9090 } }) } }, { spec: { docker: gDocker({ telemetry: { httpPath: `/${NUL}`, port: 9090 } }) } }, 'node.spec.docker.telemetry.http_path'],
    ['acl folder id', { spec: { docker: docker(), acl: { folderIds: [NUL] } } }, { spec: { docker: gDocker(), acl: { folderIds: [NUL] } } }, 'node.spec.acl.folder_ids[0]'],
    [
      'checkpoint id',
      { spec: { checkpoint: { checkpointId: NUL, outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] } } },
      { spec: { checkpoint: { checkpointId: NUL, outputVariables: [{ name: 'y', type: VariableType.VARIABLE_TYPE_INT }] } } },
      'node.spec.checkpoint.checkpoint_id',
    ],
    [
      'variable name',
      { spec: { checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: NUL, type: 'VARIABLE_TYPE_INT' }] } } },
      { spec: { checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: NUL, type: VariableType.VARIABLE_TYPE_INT }] } } },
      'node.spec.checkpoint.output_variables[0].name',
    ],
  ];
  for (const [label, restBody, grpcBody, field] of nulBodies) {
    const restSpec = (restBody.spec as Record<string, unknown> | undefined) ?? { docker: docker() };
    const grpcSpec = (grpcBody.spec as Record<string, unknown> | undefined) ?? { docker: gDocker() };
    r(`CreateNode NUL in ${label}`, 'POST', '/v1/nodes', restNode(restSpec, { ...restBody, spec: restSpec }), field);
    g(`CreateNode NUL in ${label}`, c.nodes, 'createNode', grpcNode(grpcSpec, { ...grpcBody, spec: grpcSpec }), field);
  }
  r('UpdateNode NUL in description', 'PATCH', `/v1/nodes/${node.id}`, { description: NUL }, 'node.description');
  g('UpdateNode NUL in description', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id, description: NUL }, updateMask: ['description'] }), 'node.description');
  r('UpdateNode NUL in etag', 'PATCH', `/v1/nodes/${node.id}`, { description: 'x', etag: NUL }, 'node.etag');
  g('UpdateNode NUL in mask path', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id }, updateMask: [NUL] }), 'update_mask.paths[0]');

  r('CreateFolder NUL in description', 'POST', '/v1/folders', { name: 'ok-name', description: NUL }, 'folder.description');
  g('CreateFolder NUL in description', c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'ok-name', description: NUL } }), 'folder.description');
  r('CreateFolder NUL in name', 'POST', '/v1/folders', { name: NUL }, 'folder.name');
  g('CreateFolder NUL in name', c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: NUL } }), 'folder.name');
  r('CreateFolder NUL in label value', 'POST', '/v1/folders', { name: 'ok-name', labels: { env: NUL } }, 'folder.labels.env');
  g('CreateFolder NUL in label key', c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'ok-name', labels: { [NUL]: 'x' } } }), /^folder\.labels\./);
  r('UpdateFolder NUL in description', 'PATCH', `/v1/folders/${folder.id}`, { description: NUL }, 'folder.description');
  g('UpdateFolder NUL in description', c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: folder.id, description: NUL }, updateMask: ['description'] }), 'folder.description');
  r('DeleteFolder NUL in etag', 'DELETE', `/v1/folders/${folder.id}?etag=%00`, undefined, 'etag');
  g('DeleteFolder NUL in etag', c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId: folder.id, etag: NUL }), 'etag');

  r('CreateAlias NUL in metadata value', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, metadata: { owner: NUL } }, 'alias.metadata.owner');
  g('CreateAlias NUL in metadata value', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'a', targets: target, metadata: { owner: NUL } } }), 'alias.metadata.owner');
  r('CreateAlias NUL in metadata key', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, metadata: { [NUL]: 'x' } }, /^alias\.metadata\./);
  g('CreateAlias NUL in metadata key', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'a', targets: target, metadata: { [NUL]: 'x' } } }), /^alias\.metadata\./);
  r('CreateAlias NUL in description', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, description: NUL }, 'alias.description');
  g('CreateAlias NUL in target id', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'a', targets: [{ nodeId: NUL, weight: 100 }] } }), 'alias.targets[0].node_id');
  r('CreateAlias NUL in folder id', 'POST', '/v1/aliases', { folderId: NUL, name: 'a', targets: target }, 'alias.folder_id');
  r('UpdateAlias NUL in metadata', 'PATCH', `/v1/aliases/${alias.id}`, { metadata: { k: NUL } }, 'alias.metadata.k');
  g('UpdateAlias NUL in metadata', c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id, metadata: { k: NUL } }, updateMask: ['metadata'] }), 'alias.metadata.k');

  r('CreateCheckpoint NUL in a cell', 'POST', '/v1/checkpoints', { folderId: folder.id, name: 'cp', cells: { cells: [`x = 1 # ${NUL}`] } }, 'cells.cells[0]');
  g('CreateCheckpoint NUL in a cell', c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial({ folderId: folder.id, name: 'cp', cells: { cells: [NUL] } }), 'cells.cells[0]');
  r('CreateCheckpoint NUL in the notebook', 'POST', '/v1/checkpoints', { folderId: folder.id, name: 'cp', notebook: `{"cells": []}${NUL}` }, 'notebook');
  g('CreateCheckpoint NUL in the name', c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial({ folderId: folder.id, name: NUL, cells: { cells: ['x = 1'] } }), 'name');
  r('CreateCheckpoint NUL in the description', 'POST', '/v1/checkpoints', { folderId: folder.id, name: 'cp', description: NUL, cells: { cells: ['x = 1'] } }, 'description');

  // Ids in paths and query strings, and in gRPC fields.
  r('GetNode NUL in the id', 'GET', '/v1/nodes/nd%00x', undefined, 'node_id');
  g('GetNode NUL in the id', c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: NUL }), 'node_id');
  r('GetFolder NUL in the id', 'GET', '/v1/folders/%00', undefined, 'folder_id');
  g('GetFolder NUL in the id', c.folders, 'getFolder', GetFolderRequest.fromPartial({ folderId: NUL }), 'folder_id');
  r('GetAlias NUL in the id', 'GET', '/v1/aliases/al%00', undefined, 'alias_id');
  g('GetAlias NUL in the id', c.aliases, 'getAlias', GetAliasRequest.fromPartial({ aliasId: NUL }), 'alias_id');
  r('GetOperation NUL in the id', 'GET', '/v1/operations/op%00', undefined, 'operation_id');
  g('GetOperation NUL in the id', c.operations, 'getOperation', GetOperationRequest.fromPartial({ operationId: NUL }), 'operation_id');
  r('GetCheckpoint NUL in the id', 'GET', '/v1/checkpoints/cp%00', undefined, 'checkpoint_id');
  g('GetCheckpoint NUL in the id', c.checkpoints, 'getCheckpoint', GetCheckpointRequest.fromPartial({ checkpointId: NUL }), 'checkpoint_id');
  r('ListNodes NUL in folder_id', 'GET', '/v1/nodes?folder_id=%00', undefined, 'folder_id');
  g('ListNodes NUL in folder_id', c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: NUL }), 'folder_id');
  r('ListNodes NUL in the filter', 'GET', `/v1/nodes?folder_id=${folder.id}&filter=name%3D%22a%00%22`, undefined, 'filter');
  g('ListFolders NUL in the filter', c.folders, 'listFolders', ListFoldersRequest.fromPartial({ filter: `name = "${NUL}"` }), 'filter');
  r('ListAliases NUL in the page token', 'GET', `/v1/aliases?folder_id=${folder.id}&page_token=%00`, undefined, 'page_token');
  g('ListOperations NUL in the page token', c.operations, 'listOperations', ListOperationsRequest.fromPartial({ folderId: folder.id, pageToken: NUL }), 'page_token');
  r('Execute NUL in the node id', 'POST', '/v1/nodes/nd%00:execute', {}, 'node_id');
  g('Execute NUL in the node id', c.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId: NUL }), 'node_id');
  r('ExecuteAlias NUL in the alias name', 'POST', '/v1/aliases/a%00:execute', { folderId: folder.id }, 'alias_name');
  g('ExecuteAlias NUL in the folder id', c.nodes, 'executeAlias', AliasExecutionRequest.fromPartial({ folderId: NUL, aliasName: 'prod' }), 'folder_id');

  // Ids that could never be one: too long; or well formed and unknown (NOT_FOUND naming the field).
  const long = 'x'.repeat(65);
  r('GetNode a 65-character id', 'GET', `/v1/nodes/${long}`, undefined, 'node_id');
  g('GetNode a 65-character id', c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: long }), 'node_id');
  g('ListAliases a 65-character folder id', c.aliases, 'listAliases', ListAliasesRequest.fromPartial({ folderId: long }), 'folder_id');
  r('DeleteFolder a 1000-character id', 'DELETE', `/v1/folders/${'f'.repeat(1000)}`, undefined, 'folder_id');
  r('GetNode an id with capitals', 'GET', '/v1/nodes/ND-UPPER', undefined, 'node_id', Code.NOT_FOUND, 404);
  g('GetNode an id with a slash', c.nodes, 'getNode', GetNodeRequest.fromPartial({ nodeId: '../etc/passwd' }), 'node_id', Code.NOT_FOUND);
  r('GetNode an encoded slash', 'GET', '/v1/nodes/..%2Fetc', undefined, 'node_id', Code.NOT_FOUND, 404);

  // Invalid UTF-8 in REST: raw bytes, and a lone surrogate escape that JSON.parse lets through.
  const invalid = (prefix: string, suffix: string) => Buffer.concat([Buffer.from(prefix), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(suffix)]);
  r('CreateFolder invalid UTF-8 bytes', 'POST', '/v1/folders', invalid('{"name":"ok-name","description":"', '"}'), 'body');
  r('CreateNode invalid UTF-8 bytes', 'POST', '/v1/nodes', invalid(`{"folderId":"${folder.id}","name":"n1","description":"`, '"}'), 'body');
  r('UpdateAlias invalid UTF-8 bytes', 'PATCH', `/v1/aliases/${alias.id}`, invalid('{"description":"', '"}'), 'body');
  r('CreateFolder a lone surrogate', 'POST', '/v1/folders', '{"name":"ok-name","description":"x\\ud800y"}', 'folder.description');
  r('CreateAlias a lone surrogate in metadata', 'POST', '/v1/aliases', `{"folderId":"${folder.id}","name":"a","targets":[{"nodeId":"${node.id}","weight":100}],"metadata":{"k":"\\udc00"}}`, 'alias.metadata.k');
  r('UpdateNode a lone surrogate in env', 'PATCH', `/v1/nodes/${node.id}?update_mask=spec.docker.env`, '{"spec":{"docker":{"env":{"A":"\\ud83d"}}}}', 'node.spec.docker.env.A');

  // Invalid UTF-8 in protobuf strings: the bytes of a valid request with one string's bytes replaced.
  const folderPath = '/berth.v1.FolderService/CreateFolder';
  const nodePath = '/berth.v1.NodeService/CreateNode';
  const bad = [0x41, 0xff, 0xfe, 0x41];
  raw('CreateFolder invalid UTF-8 in description', folderPath, patchBytes(binaryOf(folderPath, { folder: { name: 'ok-name', description: 'QQQQ' } }), 'QQQQ', bad), 'folder.description');
  raw('CreateFolder invalid UTF-8 in a label', folderPath, patchBytes(binaryOf(folderPath, { folder: { name: 'ok-name', labels: { env: 'QQQQ' } } }), 'QQQQ', bad), 'folder.labels.env');
  raw(
    'CreateNode invalid UTF-8 in an env value',
    nodePath,
    patchBytes(binaryOf(nodePath, { node: restNode({ docker: docker({ env: { A: 'QQQQ' } }) }) as never }), 'QQQQ', bad),
    'node.spec.docker.env.A',
  );
  raw('CreateNode invalid UTF-8 in args', nodePath, patchBytes(binaryOf(nodePath, { node: restNode({ docker: docker({ args: ['QQQQ'] }) }) as never }), 'QQQQ', bad), 'node.spec.docker.args[0]');
  raw('GetNode invalid UTF-8 in the id', '/berth.v1.NodeService/GetNode', patchBytes(binaryOf('/berth.v1.NodeService/GetNode', { nodeId: 'QQQQ' }), 'QQQQ', bad), 'node_id');

  // Malformed protobuf: grpc-js answers INTERNAL when a deserializer throws; Berth answers INVALID_ARGUMENT.
  const malformed: Array<[label: string, path: string, bytes: number[]]> = [
    ['all 0xff', folderPath, [0xff, 0xff, 0xff, 0xff]],
    ['a length past the end', folderPath, [0x0a, 0x7f, 0x01]],
    ['an invalid wire type', folderPath, [0x0f]],
    ['a truncated varint', '/berth.v1.NodeService/ListNodes', [0x10, 0xff]],
    ['a truncated string', '/berth.v1.NodeService/GetNode', [0x0a, 0x05, 0x61]],
    ['an unfinished group', '/berth.v1.OperationService/GetOperation', [0x0b]],
  ];
  for (const [label, path, bytes] of malformed) raw(`${path.split('/')[2]} ${label}`, path, Buffer.from(bytes), 'request');
  // A field number 0 ends the message for the decoder: what was read is an empty request.
  raw('GetAlias a field number 0', '/berth.v1.AliasService/GetAlias', Buffer.from([0x02, 0x01, 0x61]), /^(request|alias_id)$/);
  return out;
}

badInputSuite('bad text and bytes', cases, 100);
