/**
 * Limits and numbers: oversized fields (the limits of src/domain/limits.ts),
 * int64 values above 2^53, huge and malformed Durations, out-of-range int32s,
 * typed filter values, forged page tokens, oversized masks, wrong types,
 * unknown enum values and empty bodies. Each is INVALID_ARGUMENT naming the
 * field, over gRPC and REST, on both databases, with nothing stored changed.
 * Regressions: `memoryBytes: "9223372036854775807"` and huge Durations were a
 * 500, `done = maybe` was a 500 on PostgreSQL, and a 9 MB env value was
 * stored (and then broke every ListNodes of its folder).
 */
import { status as Code } from '@grpc/grpc-js';
import { CreateAliasRequest, ListAliasesRequest, UpdateAliasRequest } from '../../gen/berth/v1/alias_service';
import { CreateCheckpointRequest, ListCheckpointsRequest } from '../../gen/berth/v1/checkpoint_service';
import { CreateFolderRequest, ListFoldersRequest, UpdateFolderRequest } from '../../gen/berth/v1/folder_service';
import { EndpointType } from '../../gen/berth/v1/node';
import { CreateNodeRequest, ListNodesRequest, UpdateNodeRequest } from '../../gen/berth/v1/node_service';
import { ListOperationsRequest, WaitOperationRequest } from '../../gen/berth/v1/operation_service';
import { LIMITS } from '../../src/domain/limits';
import { badInputSuite, type BadCase, type Fixture } from '../helpers/bad-input-suite';
import { binaryOf, viaGrpc, viaRawGrpc, viaRest } from '../helpers/refusals';

const BAD = Code.INVALID_ARGUMENT;
const entries = (n: number, value = (i: number) => `v${i}`) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]));
const token = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

function cases(fx: Fixture): BadCase[] {
  const { c, folder, node, alias } = fx;
  const out: BadCase[] = [];
  const r = (label: string, method: string, path: string, body: unknown, field: string | RegExp, code = BAD, http = 400) =>
    out.push({ label: `REST ${label}`, run: () => viaRest(fx.http, method, path, body), code, field, http });
  const g = (label: string, client: object, method: string, request: unknown, field: string | RegExp, code = BAD) =>
    out.push({ label: `gRPC ${label}`, run: () => viaGrpc(client, method, request), code, field });
  const raw = (label: string, path: string, json: unknown, field: string | RegExp) =>
    out.push({ label: `raw gRPC ${label}`, run: () => viaRawGrpc(fx.grpc, path, binaryOf(path, json as never)), code: BAD, field });

  const endpoint = { type: 'ENDPOINT_TYPE_HTTP', port: 8080 };
  const docker = (extra: Record<string, unknown> = {}) => ({ docker: { image: 'berth-test-http:latest', endpoint, ...extra } });
  const gDocker = (extra: Record<string, unknown> = {}) => ({ docker: { image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 }, ...extra } });
  const restNode = (spec: Record<string, unknown>, top: Record<string, unknown> = {}) => ({ folderId: folder.id, name: 'n1', spec, ...top });
  const grpcNode = (spec: Record<string, unknown>, top: Record<string, unknown> = {}) => CreateNodeRequest.fromPartial({ node: { folderId: folder.id, name: 'n1', spec, ...top } as never });
  const both = (label: string, spec: Record<string, unknown>, gspec: Record<string, unknown>, field: string | RegExp) => {
    r(`CreateNode ${label}`, 'POST', '/v1/nodes', restNode(spec), field);
    g(`CreateNode ${label}`, c.nodes, 'createNode', grpcNode(gspec), field);
  };
  const target = [{ nodeId: node.id, weight: 100 }];

  // Sizes of a node's spec.
  const nineMb = 'x'.repeat(9 * 1024 * 1024);
  both('a 9 MB env value', docker({ env: { BIG: nineMb } }), gDocker({ env: { BIG: nineMb } }), 'node.spec.docker.env.BIG');
  const envValue = 'v'.repeat(LIMITS.envValueBytes + 1);
  both('an env value one byte over the limit', docker({ env: { A: envValue } }), gDocker({ env: { A: envValue } }), 'node.spec.docker.env.A');
  const manyEnv = entries(LIMITS.envEntries + 1, () => 'x');
  const envVars = Object.fromEntries(Object.keys(manyEnv).map((k) => [k.toUpperCase(), 'x']));
  both('too many env variables', docker({ env: envVars }), gDocker({ env: envVars }), 'node.spec.docker.env');
  const bigEnv = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`V${i}`, 'y'.repeat(30 * 1024)]));
  both('an env over its total size', docker({ env: bigEnv }), gDocker({ env: bigEnv }), 'node.spec.docker.env');
  const longName = { [`N${'_'.repeat(LIMITS.envNameChars)}`]: 'x' };
  both('an env name over its length', docker({ env: longName }), gDocker({ env: longName }), /^node\.spec\.docker\.env\.N_/);
  const bigArg = ['z'.repeat(LIMITS.argvEntryBytes + 1)];
  both('a command entry over its size', docker({ command: bigArg }), gDocker({ command: bigArg }), 'node.spec.docker.command[0]');
  const manyArgs = Array.from({ length: LIMITS.argvEntries + 1 }, () => 'a');
  both('too many args', docker({ args: manyArgs }), gDocker({ args: manyArgs }), 'node.spec.docker.args');
  const wideArgs = Array.from({ length: 20 }, () => 'w'.repeat(4000));
  both('args over their total size', docker({ args: wideArgs }), gDocker({ args: wideArgs }), 'node.spec.docker.args');
  const longImage = `img/${'i'.repeat(LIMITS.imageRefChars)}`;
  both('an image reference over its length', docker({ image: longImage }), gDocker({ image: longImage }), 'node.spec.docker.image');
  const longPath = `/${'p'.repeat(LIMITS.pathChars)}`;
  both('a health check path over its length', docker({ healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: longPath } }), gDocker({ healthCheck: { type: 1, path: longPath } }), 'node.spec.docker.health_check.path');
  const manyVars = Array.from({ length: LIMITS.variables + 1 }, (_, i) => ({ name: `v${i}`, type: 'VARIABLE_TYPE_INT' }));
  r('CreateNode too many output variables', 'POST', '/v1/nodes', restNode({ checkpoint: { checkpointId: 'cp1', outputVariables: manyVars } }), 'node.spec.checkpoint.output_variables');
  g('CreateNode too many output variables', c.nodes, 'createNode', grpcNode({ checkpoint: { checkpointId: 'cp1', outputVariables: manyVars.map((v) => ({ ...v, type: 1 })) } }), 'node.spec.checkpoint.output_variables');
  const longVar = [{ name: 'v'.repeat(LIMITS.variableNameChars + 1), type: 'VARIABLE_TYPE_INT' }];
  r('CreateNode a variable name over its length', 'POST', '/v1/nodes', restNode({ checkpoint: { checkpointId: 'cp1', outputVariables: longVar } }), 'node.spec.checkpoint.output_variables[0].name');
  const manyFolders = Array.from({ length: LIMITS.labelEntries + 1 }, (_, i) => `fl${i}`);
  both('too many ACL folders', { ...docker(), acl: { folderIds: manyFolders } }, { ...gDocker(), acl: { folderIds: manyFolders } }, 'node.spec.acl.folder_ids');
  r('UpdateNode a 9 MB env value', 'PATCH', `/v1/nodes/${node.id}?update_mask=spec.docker.env`, { spec: { docker: { env: { BIG: nineMb } } } }, 'node.spec.docker.env.BIG');
  g('UpdateNode a 9 MB env value', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { docker: { env: { BIG: nineMb } } } }, updateMask: ['spec.docker.env'] }), 'node.spec.docker.env.BIG');

  // Sizes of folders, aliases and checkpoints.
  const longText = 'd'.repeat(100_000);
  r('CreateFolder a 100,000-character description', 'POST', '/v1/folders', { name: 'ok-name', description: longText }, 'folder.description');
  g('CreateFolder a 100,000-character description', c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'ok-name', description: longText } }), 'folder.description');
  r('CreateFolder too many labels', 'POST', '/v1/folders', { name: 'ok-name', labels: entries(LIMITS.labelEntries + 1) }, 'folder.labels');
  g('UpdateFolder too many labels', c.folders, 'updateFolder', UpdateFolderRequest.fromPartial({ folder: { id: folder.id, labels: entries(LIMITS.labelEntries + 1) }, updateMask: ['labels'] }), 'folder.labels');
  r('CreateNode a description over its length', 'POST', '/v1/nodes', restNode(docker(), { description: longText }), 'node.description');
  r('CreateAlias too many metadata entries', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, metadata: entries(LIMITS.metadataEntries + 1) }, 'alias.metadata');
  g('CreateAlias too many metadata entries', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'a', targets: target, metadata: entries(LIMITS.metadataEntries + 1) } }), 'alias.metadata');
  const longValue = { k: 'm'.repeat(LIMITS.metadataValueChars + 1) };
  r('CreateAlias a metadata value over its length', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, metadata: longValue }, 'alias.metadata.k');
  g('UpdateAlias a metadata value over its length', c.aliases, 'updateAlias', UpdateAliasRequest.fromPartial({ alias: { id: alias.id, metadata: longValue }, updateMask: ['metadata'] }), 'alias.metadata.k');
  const longKey = { ['k'.repeat(LIMITS.metadataKeyChars + 1)]: 'v' };
  r('UpdateAlias a metadata key over its length', 'PATCH', `/v1/aliases/${alias.id}`, { metadata: longKey }, /^alias\.metadata\.kkk/);
  r('CreateAlias too many targets', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: Array.from({ length: 17 }, (_, i) => ({ nodeId: `nd${i}`, weight: i ? 0 : 100 })) }, 'alias.targets');
  const cp = (extra: Record<string, unknown>) => ({ folderId: folder.id, name: 'cp', ...extra });
  const manyCells = Array.from({ length: LIMITS.cells + 1 }, () => 'x = 1');
  r('CreateCheckpoint too many cells', 'POST', '/v1/checkpoints', cp({ cells: { cells: manyCells } }), 'cells.cells');
  g('CreateCheckpoint too many cells', c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial(cp({ cells: { cells: manyCells } })), 'cells.cells');
  const bigCell = [`x = "${'c'.repeat(LIMITS.cellSourceBytes)}"`];
  r('CreateCheckpoint a cell over its size', 'POST', '/v1/checkpoints', cp({ cells: { cells: bigCell } }), 'cells.cells[0]');
  g('CreateCheckpoint a cell over its size', c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial(cp({ cells: { cells: bigCell } })), 'cells.cells[0]');
  const wideCells = Array.from({ length: 17 }, () => `# ${'c'.repeat(250 * 1024)}`);
  g('CreateCheckpoint cells over their total size', c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial(cp({ cells: { cells: wideCells } })), 'cells.cells');
  const bigNotebook = JSON.stringify({ cells: [{ cell_type: 'code', source: 'n'.repeat(LIMITS.notebookBytes) }] });
  r('CreateCheckpoint a notebook over its size', 'POST', '/v1/checkpoints', cp({ notebook: bigNotebook }), 'notebook');

  // int64: exact end to end, never rounded; out of range is refused by name.
  const memory = (bytes: string) => ({ ...docker(), configuration: { memoryBytes: bytes } });
  const memoryField = 'node.spec.configuration.memory_bytes';
  for (const bytes of ['9223372036854775807', '9007199254740993', '2199023255552', '-1', '99999999999999999999', '1.5', '-9223372036854775808']) {
    r(`CreateNode memoryBytes ${bytes}`, 'POST', '/v1/nodes', restNode(memory(bytes)), memoryField);
  }
  for (const bytes of ['9223372036854775807', '9007199254740993', '-9007199254740993']) raw(`CreateNode memoryBytes ${bytes}`, '/berth.v1.NodeService/CreateNode', { node: restNode(memory(bytes)) }, memoryField);
  g('CreateNode memoryBytes 2^41', c.nodes, 'createNode', grpcNode({ ...gDocker(), configuration: { memoryBytes: 2 ** 41 } }), memoryField);
  r('UpdateNode memoryBytes 2^63-1', 'PATCH', `/v1/nodes/${node.id}?update_mask=spec.configuration.memory_bytes`, { spec: { configuration: { memoryBytes: '9223372036854775807' } } }, memoryField);

  // Durations.
  const timeoutField = 'node.spec.docker.endpoint.timeout';
  for (const timeout of ['315576000001s', '9223372036854775807s', '-1s', '0.0000000001s', 'soon', '3601s']) {
    r(`CreateNode endpoint timeout ${timeout}`, 'POST', '/v1/nodes', restNode(docker({ endpoint: { ...endpoint, timeout } })), timeoutField);
  }
  raw('CreateNode endpoint timeout of 2^62 seconds', '/berth.v1.NodeService/CreateNode', { node: restNode(docker({ endpoint: { ...endpoint, timeout: '315576000000s' } })) }, timeoutField);
  const gTimeout = (timeout: Record<string, number>) => grpcNode(gDocker({ endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080, timeout } }));
  g('CreateNode endpoint timeout of 10^12 seconds', c.nodes, 'createNode', gTimeout({ seconds: 1e12, nanos: 0 }), timeoutField);
  g('CreateNode endpoint timeout with 2e9 nanos', c.nodes, 'createNode', gTimeout({ seconds: 1, nanos: 2e9 }), timeoutField);
  g('CreateNode endpoint timeout with nanos of the other sign', c.nodes, 'createNode', gTimeout({ seconds: 1, nanos: -5 }), timeoutField);
  g('CreateNode a negative health check interval', c.nodes, 'createNode', grpcNode(gDocker({ healthCheck: { interval: { seconds: -5, nanos: 0 } } })), 'node.spec.docker.health_check.interval');
  r('CreateNode a scale-down stabilization of 2 days', 'POST', '/v1/nodes', restNode({ ...docker(), autoscaling: { scaleDownStabilization: '172800s' } }), 'node.spec.autoscaling.scale_down_stabilization');
  r('WaitOperation a negative timeout', 'POST', '/v1/operations/opx:wait', { timeout: '-5s' }, 'timeout');
  g('WaitOperation a negative timeout', c.operations, 'waitOperation', WaitOperationRequest.fromPartial({ operationId: 'opx', timeout: { seconds: -5, nanos: 0 } }), 'timeout');
  g('WaitOperation a timeout of 10^12 seconds', c.operations, 'waitOperation', WaitOperationRequest.fromPartial({ operationId: 'opx', timeout: { seconds: 1e12, nanos: 0 } }), 'timeout');
  r('WaitOperation a timeout of 2^63 seconds', 'POST', '/v1/operations/opx:wait', { timeout: '9223372036854775807s' }, 'timeout');

  // int32 and other numbers.
  r('CreateNode instance max of 2^32', 'POST', '/v1/nodes', restNode({ ...docker(), instanceRange: { min: 1, max: 4294967296 } }), 'node.spec.instance_range.max');
  r('CreateNode instance min of -2^31', 'POST', '/v1/nodes', restNode({ ...docker(), instanceRange: { min: -2147483648, max: 1 } }), 'node.spec.instance_range.min');
  r('CreateNode cpu of 1e308', 'POST', '/v1/nodes', restNode({ ...docker(), configuration: { cpu: 1e308 } }), 'node.spec.configuration.cpu');
  r('CreateNode cpu of NaN', 'POST', '/v1/nodes', restNode({ ...docker(), configuration: { cpu: 'NaN' } }), 'node.spec.configuration.cpu');
  g('CreateNode cpu of Infinity', c.nodes, 'createNode', grpcNode({ ...gDocker(), configuration: { cpu: Infinity } }), 'node.spec.configuration.cpu');
  r('CreateNode target in flight of 2^31', 'POST', '/v1/nodes', restNode({ ...docker(), autoscaling: { targetInFlight: 2147483648 } }), 'node.spec.autoscaling.target_in_flight');
  g('CreateNode a port of -1', c.nodes, 'createNode', grpcNode(gDocker({ endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: -1 } })), 'node.spec.docker.endpoint.port');
  r('CreateAlias a weight of 2^31', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: [{ nodeId: node.id, weight: 2147483648 }] }, 'alias.targets[0].weight');
  r('ListNodes page_size -1', 'GET', `/v1/nodes?folder_id=${folder.id}&page_size=-1`, undefined, 'page_size');
  r('ListNodes page_size 1001', 'GET', `/v1/nodes?folder_id=${folder.id}&page_size=1001`, undefined, 'page_size');
  r('ListNodes page_size 2^40', 'GET', `/v1/nodes?folder_id=${folder.id}&page_size=1099511627776`, undefined, 'page_size');
  g('ListFolders page_size -1', c.folders, 'listFolders', ListFoldersRequest.fromPartial({ pageSize: -1 }), 'page_size');
  g('ListAliases page_size 1001', c.aliases, 'listAliases', ListAliasesRequest.fromPartial({ folderId: folder.id, pageSize: 1001 }), 'page_size');
  r('CreateCheckpoint a served cell index of -1', 'POST', '/v1/checkpoints', cp({ cells: { cells: ['x = 1'] }, servedCellIndex: -1 }), 'served_cell_index');

  // Filters: parsed, typed and bounded on both databases.
  const ops = (filter: string) => `/v1/operations?folder_id=${folder.id}&filter=${encodeURIComponent(filter)}`;
  for (const filter of ['done = maybe', 'done = "maybe"', 'done = 1', 'done:"t"', 'done = true AND done = yes']) {
    r(`ListOperations filter ${filter}`, 'GET', ops(filter), undefined, 'filter');
    g(`ListOperations filter ${filter}`, c.operations, 'listOperations', ListOperationsRequest.fromPartial({ folderId: folder.id, filter }), 'filter');
  }
  const nodes = (filter: string) => `/v1/nodes?folder_id=${folder.id}&filter=${encodeURIComponent(filter)}`;
  for (const filter of ['kind = vm', 'name ~ "x"', 'colour = red', 'name = ', 'name = "x" OR name = "y"', '"x"', 'name = "unterminated']) {
    r(`ListNodes filter ${filter}`, 'GET', nodes(filter), undefined, 'filter');
  }
  g('ListNodes filter kind = vm', c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: folder.id, filter: 'kind = vm' }), 'filter');
  const longFilter = `name = "${'f'.repeat(LIMITS.filterChars)}"`;
  r('ListNodes a filter over its length', 'GET', nodes(longFilter), undefined, 'filter');
  g('ListCheckpoints a filter over its length', c.checkpoints, 'listCheckpoints', ListCheckpointsRequest.fromPartial({ folderId: folder.id, filter: longFilter }), 'filter');
  g('ListFolders filter of an unknown field', c.folders, 'listFolders', ListFoldersRequest.fromPartial({ filter: 'owner = "me"' }), 'filter');

  // Page tokens: opaque, bound to their query, and never a way to put text into a query.
  const forged = (after: string) => token({ after, query: `nodes|${folder.id}|` });
  const tokens: Array<[label: string, value: string]> = [
    ['punctuation', '!!!'],
    ['base64 of text', Buffer.from('not json').toString('base64url')],
    ['base64 of a number', token(5)],
    ['a forged cursor with a NUL', forged('\u0000')],
    ['a forged cursor with SQL', forged("' or 1=1 --")],
    ['a forged cursor of 100 characters', forged('x'.repeat(100))],
    ['a token of ListFolders', fx.folderPageToken],
    ['a token over its length', 'A'.repeat(LIMITS.pageTokenChars + 1)],
  ];
  for (const [label, value] of tokens) {
    r(`ListNodes page token ${label}`, 'GET', `/v1/nodes?folder_id=${folder.id}&page_token=${encodeURIComponent(value)}`, undefined, 'page_token');
    g(`ListNodes page token ${label}`, c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: folder.id, pageToken: value }), 'page_token');
  }

  // Masks, etags and ids over their limits.
  const manyPaths = Array.from({ length: LIMITS.maskPaths + 1 }, () => 'description');
  r('UpdateFolder a mask of 65 paths', 'PATCH', `/v1/folders/${folder.id}?update_mask=${manyPaths.join(',')}`, { description: 'x' }, 'update_mask');
  g('UpdateNode a mask of 65 paths', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id, description: 'x' }, updateMask: manyPaths }), 'update_mask');
  g('UpdateNode a mask path with two dots', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({ node: { id: node.id }, updateMask: ['spec..docker'] }), 'update_mask.paths[0]');
  r('UpdateFolder an etag over its length', 'PATCH', `/v1/folders/${folder.id}`, { description: 'x', etag: `"${'9'.repeat(LIMITS.etagChars)}"` }, 'folder.etag');
  r('DeleteNode an etag over its length', 'DELETE', `/v1/nodes/${node.id}?etag=${'e'.repeat(LIMITS.etagChars + 1)}`, undefined, 'etag');

  // Wrong types and unknown enum values.
  r('CreateNode an unknown endpoint type number', 'POST', '/v1/nodes', restNode(docker({ endpoint: { type: 99, port: 80 } })), 'node.spec.docker.endpoint.type');
  r('CreateNode an unknown health check type', 'POST', '/v1/nodes', restNode(docker({ healthCheck: { type: 'HEALTH_CHECK_TYPE_TCP' } })), 'node.spec.docker.health_check.type');
  r('CreateNode an unknown variable type', 'POST', '/v1/nodes', restNode({ checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_COMPLEX' }] } }), 'node.spec.checkpoint.output_variables[0].type');
  g('CreateNode an unknown variable type number', c.nodes, 'createNode', grpcNode({ checkpoint: { checkpointId: 'cp1', outputVariables: [{ name: 'y', type: 77 }] } }), 'node.spec.checkpoint.output_variables[0].type');
  r('CreateAlias an unknown access', 'POST', '/v1/aliases', { folderId: folder.id, name: 'a', targets: target, access: 'ALIAS_ACCESS_SECRET' }, 'alias.access');
  g('CreateAlias an unknown access number', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: 'a', targets: target, access: 42 as never } }), 'alias.access');
  r('CreateFolder a list as the description', 'POST', '/v1/folders', { name: 'ok-name', description: ['x'] }, 'folder.description');
  r('CreateFolder an object as the name', 'POST', '/v1/folders', { name: {} }, 'folder.name');
  r('CreateFolder null labels entry', 'POST', '/v1/folders', { name: 'ok-name', labels: { env: null } }, 'folder.labels.env');
  r('CreateNode a string as the instance range', 'POST', '/v1/nodes', restNode({ ...docker(), instanceRange: '1-3' }), 'node.spec.instance_range');
  r('CreateNode a number as the env', 'POST', '/v1/nodes', restNode(docker({ env: 5 })), 'node.spec.docker.env');
  r('CreateNode a boolean as the image', 'POST', '/v1/nodes', restNode(docker({ image: true })), 'node.spec.docker.image');
  r('ListNodes a word as the page size', 'GET', `/v1/nodes?folder_id=${folder.id}&page_size=ten`, undefined, 'page_size');
  r('ListNodes a repeated scalar query parameter', 'GET', `/v1/nodes?folder_id=${folder.id}&folder_id=${folder.id}`, undefined, 'folder_id');

  // Nesting deeper than any decoder should follow.
  const deep = (open: string, close: string, depth = 10_000) => open.repeat(depth) + '1' + close.repeat(depth);
  r('Execute an input nested 10,000 deep', 'POST', `/v1/nodes/${node.id}:execute`, `{"input":{"x":${deep('{"a":', '}')}}}`, 'input');
  r('ExecuteAlias a list nested 10,000 deep', 'POST', `/v1/aliases/${alias.name}:execute`, `{"folderId":"${folder.id}","input":{"x":${deep('[', ']')}}}`, 'input');
  r('CreateFolder labels nested 10,000 deep', 'POST', '/v1/folders', `{"name":"ok-name","labels":${deep('{"a":', '}')}}`, 'folder.labels.a');

  // Empty and missing bodies.
  r('CreateAlias no body', 'POST', '/v1/aliases', undefined, 'alias');
  r('CreateNode no body', 'POST', '/v1/nodes', undefined, 'node');
  r('CreateFolder an empty object', 'POST', '/v1/folders', {}, 'folder.name');
  r('CreateCheckpoint no body', 'POST', '/v1/checkpoints', undefined, 'source');
  r('UpdateFolder no body', 'PATCH', `/v1/folders/${folder.id}`, undefined, /^(folder|update_mask)$/);
  r('UpdateNode an empty object', 'PATCH', `/v1/nodes/${node.id}`, {}, 'update_mask');
  r('CreateFolder whitespace as the body', 'POST', '/v1/folders', '   ', 'body');
  r('CreateFolder null as the body', 'POST', '/v1/folders', 'null', /^(folder|body)$/);
  g('CreateAlias an empty request', c.aliases, 'createAlias', CreateAliasRequest.fromPartial({}), 'alias');
  g('UpdateNode an empty request', c.nodes, 'updateNode', UpdateNodeRequest.fromPartial({}), 'node');
  return out;
}

badInputSuite('limits and numbers', cases, 150);
