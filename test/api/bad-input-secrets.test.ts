/**
 * Bad requests around secrets: their own methods (names, keys, values over
 * their size, malformed bodies that carry a value, stale etags, unknown ids)
 * and the references nodes make to them (unknown, in another folder, without
 * the key). Each is refused with its code naming the field, over gRPC and
 * REST, on both databases, with nothing stored changed — and no refusal
 * quotes a value, whatever shape it came in.
 */
import assert from 'node:assert/strict';
import { status as Code } from '@grpc/grpc-js';
import { EndpointType } from '../../gen/berth/v1/node';
import { CreateNodeRequest, UpdateNodeRequest } from '../../gen/berth/v1/node_service';
import {
  AddSecretVersionRequest,
  CreateSecretRequest,
  DeleteSecretRequest,
  GetSecretRequest,
  ListSecretsRequest,
  UpdateSecretRequest,
} from '../../gen/berth/v1/secret_service';
import { LIMITS } from '../../src/domain/limits';
import { badInputSuite, type BadCase, type Fixture } from '../helpers/bad-input-suite';
import { binaryOf, patchBytes, viaGrpc, viaRawGrpc, viaRest, type Refusal } from '../helpers/refusals';

const BAD = Code.INVALID_ARGUMENT;
/** The value every case sends (or this number, where a value has the wrong type): found in a refusal, it was echoed. */
const VALUE = 'Sesame-QZXJWKPV';
const NUMBER = 8675309;

/** A refusal whose message and field paths do not quote the value. */
async function quiet(run: () => Promise<Refusal>, label: string): Promise<Refusal> {
  const r = await run();
  // Pieces too: a JSON parser's message quotes ten characters or so around where it stopped.
  for (const needle of [VALUE, 'QZX', 'WKPV', String(NUMBER)])
    assert.ok(!r.message.includes(needle) && !r.fields.some((f) => f.includes(needle)), `${label}: the refusal quotes the value: ${r.message}`);
  return r;
}

function cases(fx: Fixture): BadCase[] {
  const { c, folder, other, node, secret } = fx;
  const out: BadCase[] = [];
  const add = (label: string, run: () => Promise<Refusal>, field: string | RegExp | undefined, code: Code, http?: number) =>
    out.push({ label, run: () => quiet(run, label), code, field, ...(http ? { http } : {}) });
  const r = (label: string, method: string, path: string, body: unknown, field: string | RegExp | undefined, code = BAD, http = 400) =>
    add(`REST ${label}`, () => viaRest(fx.http, method, path, body), field, code, http);
  const g = (label: string, client: object, method: string, request: unknown, field: string | RegExp | undefined, code = BAD) =>
    add(`gRPC ${label}`, () => viaGrpc(client, method, request), field, code);
  const entry = (key: string, value = VALUE) => ({ key, value });
  const create = (extra: Record<string, unknown>) => ({ folderId: folder.id, name: 'creds', entries: [entry('token')], ...extra });
  const both = (label: string, extra: Record<string, unknown>, field: string | RegExp | undefined, code = BAD, http = 400) => {
    r(`CreateSecret ${label}`, 'POST', '/v1/secrets', create(extra), field, code, http);
    g(`CreateSecret ${label}`, c.secrets, 'createSecret', CreateSecretRequest.fromPartial(create(extra)), field, code);
  };

  // CreateSecret: the resource's own fields.
  both('without folder', { folderId: '' }, 'folder_id');
  both('in an unknown folder', { folderId: 'flnope' }, 'folder_id', Code.NOT_FOUND, 404);
  both('with an invalid name', { name: 'Creds_1' }, 'name');
  both('with a name taken in the folder', { name: 'api' }, undefined, Code.ALREADY_EXISTS, 409);
  both('with a description over its length', { description: 'd'.repeat(LIMITS.descriptionChars + 1) }, 'description');
  both('with a bad label key', { labels: { Team: 'a' } }, 'labels.Team');

  // CreateSecret: entries. None of these may quote VALUE.
  both('without entries', { entries: [] }, 'entries');
  both('with an empty key', { entries: [entry('')] }, 'entries[0].key');
  both('with a key that starts with a digit', { entries: [entry('1TOKEN')] }, 'entries[0].key');
  both('with a key holding a dash', { entries: [entry('API-TOKEN')] }, 'entries[0].key');
  both('with a key over its length', { entries: [entry('k'.repeat(LIMITS.secretKeyChars + 1))] }, 'entries[0].key');
  both('with a key given twice', { entries: [entry('token'), entry('other'), entry('token')] }, 'entries[2].key');
  both('with a value over 64 KiB', { entries: [entry('token', VALUE + 'v'.repeat(LIMITS.secretValueBytes))] }, 'entries[0].value');
  both('with too many entries', { entries: Array.from({ length: LIMITS.secretEntries + 1 }, (_, i) => entry(`k${i}`)) }, 'entries');
  both('with entries over their total size', { entries: Array.from({ length: 5 }, (_, i) => entry(`k${i}`, VALUE + 'v'.repeat(60 * 1024))) }, 'entries');
  both('with a NUL in a value', { entries: [entry('token', `${VALUE}\u0000`)] }, 'entries[0].value');
  // A gRPC client's encoder turns a lone surrogate into U+FFFD; JSON can carry it.
  r('CreateSecret with a lone surrogate in a value', 'POST', '/v1/secrets', create({ entries: [entry('token', `${VALUE}\ud800`)] }), 'entries[0].value');
  const createPath = '/berth.v1.SecretService/CreateSecret';
  add(
    'raw gRPC CreateSecret with invalid UTF-8 in a value',
    () => viaRawGrpc(fx.grpc, createPath, patchBytes(binaryOf(createPath, create({ entries: [entry('token', `${VALUE}QQQQ`)] }) as never), 'QQQQ', [0x41, 0xff, 0xfe, 0x41])),
    'entries[0].value',
    BAD,
  );
  r('CreateSecret with a value that is a number', 'POST', '/v1/secrets', create({ entries: [{ key: 'token', value: NUMBER }] }), 'entries[0].value');
  r('CreateSecret with a value that is an object', 'POST', '/v1/secrets', create({ entries: [{ key: 'token', value: { pin: VALUE } }] }), 'entries[0].value');
  r('CreateSecret with entries as a map', 'POST', '/v1/secrets', create({ entries: { token: VALUE } }), 'entries');
  r('CreateSecret with an unknown entry field', 'POST', '/v1/secrets', create({ entries: [{ key: 'token', secret: VALUE }] }), 'entries[0].secret');
  r('CreateSecret with malformed JSON around a value', 'POST', '/v1/secrets', `{"folderId": "${folder.id}", "name": "x", "entries": [{"key": "a", "value": "${VALUE}" oops]}`, 'body');
  r('CreateSecret with a value left unquoted', 'POST', '/v1/secrets', `{"folderId": "${folder.id}", "name": "x", "entries": [{"key": "a", "value": ${VALUE}}]}`, 'body');
  r('AddSecretVersion with a value left unquoted', 'POST', `/v1/secrets/${secret.id}:addVersion`, `{"entries": [{"key": "a", "value": ${VALUE}}]}`, 'body');
  r('CreateSecret with a value cut short', 'POST', '/v1/secrets', `{"folderId": "${folder.id}", "entries": [{"key": "a", "value": "${VALUE}`, 'body');

  // Get, List, Update, AddVersion, Delete.
  r('GetSecret of an unknown id', 'GET', '/v1/secrets/scnope', undefined, 'secret_id', Code.NOT_FOUND, 404);
  g('GetSecret without id', c.secrets, 'getSecret', GetSecretRequest.fromPartial({}), 'secret_id');
  r('ListSecrets without folder', 'GET', '/v1/secrets', undefined, 'folder_id');
  g('ListSecrets of an unknown folder', c.secrets, 'listSecrets', ListSecretsRequest.fromPartial({ folderId: 'flnope' }), 'folder_id', Code.NOT_FOUND);
  r('ListSecrets with a filter on a value', 'GET', `/v1/secrets?folder_id=${folder.id}&filter=${encodeURIComponent('value = "x"')}`, undefined, 'filter');
  r('UpdateSecret of the entries', 'PATCH', `/v1/secrets/${secret.id}?update_mask=entries`, { entries: [{ key: 'token' }] }, 'update_mask.paths[0]');
  g('UpdateSecret of the version', c.secrets, 'updateSecret', UpdateSecretRequest.fromPartial({ secret: { id: secret.id, version: 9 }, updateMask: ['version'] }), 'update_mask.paths[0]');
  g('UpdateSecret of the folder', c.secrets, 'updateSecret', UpdateSecretRequest.fromPartial({ secret: { id: secret.id, folderId: other.id }, updateMask: ['folder_id'] }), 'update_mask.paths[0]');
  r('UpdateSecret with an invalid name', 'PATCH', `/v1/secrets/${secret.id}`, { name: 'Bad Name' }, 'secret.name');
  r('UpdateSecret with a stale etag', 'PATCH', `/v1/secrets/${secret.id}`, { description: 'x', etag: '"99"' }, undefined, Code.ABORTED, 409);
  g('UpdateSecret of an unknown id', c.secrets, 'updateSecret', UpdateSecretRequest.fromPartial({ secret: { id: 'scnope', description: 'x' }, updateMask: ['description'] }), 'secret.id', Code.NOT_FOUND);
  r('AddSecretVersion without entries', 'POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [] }, 'entries');
  g('AddSecretVersion with a bad key', c.secrets, 'addSecretVersion', AddSecretVersionRequest.fromPartial({ secretId: secret.id, entries: [entry('no-dash')] }), 'entries[0].key');
  r('AddSecretVersion with a value over 64 KiB', 'POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [entry('token', VALUE + 'v'.repeat(LIMITS.secretValueBytes))] }, 'entries[0].value');
  r('AddSecretVersion with a value that is a number', 'POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [{ key: 'token', value: NUMBER }] }, 'entries[0].value');
  r('AddSecretVersion with a stale etag', 'POST', `/v1/secrets/${secret.id}:addVersion`, { entries: [entry('token')], etag: '"99"' }, undefined, Code.ABORTED, 409);
  g('AddSecretVersion of an unknown id', c.secrets, 'addSecretVersion', AddSecretVersionRequest.fromPartial({ secretId: 'scnope', entries: [entry('token')] }), 'secret_id', Code.NOT_FOUND);
  r('DeleteSecret with a stale etag', 'DELETE', `/v1/secrets/${secret.id}?etag=${encodeURIComponent('"99"')}`, undefined, undefined, Code.ABORTED, 409);
  g('DeleteSecret of an unknown id', c.secrets, 'deleteSecret', DeleteSecretRequest.fromPartial({ secretId: 'scnope' }), 'secret_id', Code.NOT_FOUND);

  // Nodes that name secrets.
  const endpoint = { type: 'ENDPOINT_TYPE_HTTP', port: 8080 };
  const restNode = (folderId: string, docker: Record<string, unknown>) => ({ folderId, name: 'n1', spec: { docker: { image: 'berth-test-http:latest', endpoint, ...docker } } });
  const grpcNode = (folderId: string, docker: Record<string, unknown>) =>
    CreateNodeRequest.fromPartial({ node: { folderId, name: 'n1', spec: { docker: { image: 'berth-test-http:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 }, ...docker } } } });
  const nodeBoth = (label: string, folderId: string, docker: Record<string, unknown>, field: string, code = BAD, http = 400) => {
    r(`CreateNode ${label}`, 'POST', '/v1/nodes', restNode(folderId, docker), field, code, http);
    g(`CreateNode ${label}`, c.nodes, 'createNode', grpcNode(folderId, docker), field, code);
  };
  const fromSecret = (over: Record<string, string> = {}) => ({ envFromSecrets: [{ envName: 'API_TOKEN', secretId: secret.id, key: 'token', ...over }] });
  nodeBoth('with an unknown registry secret', folder.id, { registrySecretId: 'scnope' }, 'node.spec.docker.registry_secret_id', Code.NOT_FOUND, 404);
  nodeBoth('with a registry secret of another folder', other.id, { registrySecretId: secret.id }, 'node.spec.docker.registry_secret_id');
  nodeBoth('with a registry secret without username and password', folder.id, { registrySecretId: secret.id }, 'node.spec.docker.registry_secret_id');
  nodeBoth('with an env var from an unknown secret', folder.id, fromSecret({ secretId: 'scnope' }), 'node.spec.docker.env_from_secrets[0].secret_id', Code.NOT_FOUND, 404);
  nodeBoth('with an env var from a secret of another folder', other.id, fromSecret(), 'node.spec.docker.env_from_secrets[0].secret_id');
  nodeBoth('with an env var from a key the secret lacks', folder.id, fromSecret({ key: 'password' }), 'node.spec.docker.env_from_secrets[0].key');
  nodeBoth('with an env var without secret', folder.id, fromSecret({ secretId: '' }), 'node.spec.docker.env_from_secrets[0].secret_id');
  nodeBoth('with an env var without key', folder.id, fromSecret({ key: '' }), 'node.spec.docker.env_from_secrets[0].key');
  nodeBoth('with an invalid env var name', folder.id, fromSecret({ envName: 'API-TOKEN' }), 'node.spec.docker.env_from_secrets[0].env_name');
  nodeBoth('with an env var also set in env', folder.id, { ...fromSecret(), env: { API_TOKEN: 'plain' } }, 'node.spec.docker.env_from_secrets[0].env_name');
  const twice = { envFromSecrets: [fromSecret().envFromSecrets[0], { envName: 'API_TOKEN', secretId: secret.id, key: 'token' }] };
  nodeBoth('with an env var set from two secrets', folder.id, twice, 'node.spec.docker.env_from_secrets[1].env_name');
  const many = { envFromSecrets: Array.from({ length: LIMITS.envFromSecrets + 1 }, (_, i) => ({ envName: `V${i}`, secretId: secret.id, key: 'token' })) };
  nodeBoth('with too many env vars from secrets', folder.id, many, 'node.spec.docker.env_from_secrets');
  r('UpdateNode to an unknown registry secret', 'PATCH', `/v1/nodes/${node.id}`, { spec: { docker: { registrySecretId: 'scnope' } } }, 'node.spec.docker.registry_secret_id', Code.NOT_FOUND, 404);
  g(
    'UpdateNode to a key the secret lacks',
    c.nodes,
    'updateNode',
    UpdateNodeRequest.fromPartial({ node: { id: node.id, spec: { docker: fromSecret({ key: 'nope' }) } }, updateMask: ['spec.docker.env_from_secrets'] }),
    'node.spec.docker.env_from_secrets[0].key',
  );
  return out;
}

badInputSuite('bad requests around secrets', cases, 80);
