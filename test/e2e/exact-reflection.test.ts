/**
 * Server reflection answers with the files as compiled: original names,
 * dependencies and options, the google ones real, and each node's typed
 * service in a file of its own that imports what it uses. A strict client
 * (Python's descriptor pool, fed only by reflection) describes and calls
 * Berth. The typed services have their own grpc.health.v1 status.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toJson } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import { descriptors } from '../../src/api/descriptors';
import { filesOfSet } from '../../src/api/reflection-files';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { grpcHealth } from '../helpers/health';
import { reflect } from '../helpers/reflection';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';

const ROOT = path.join(__dirname, '..', '..');
const BUF = path.join(ROOT, 'node_modules', '.bin', 'buf');
/** Debian's Python, where python3-grpcio and python3-protobuf are installed. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

/** The compiled files, by name, decoded and as bytes. */
const compiled = new Map(fromBinary(FileDescriptorSetSchema, readFileSync(path.join(ROOT, 'gen', 'berth.binpb'))).file.map((f) => [f.name, f]));

/** The same files, serialized as the set holds them. */
const compiledBytes = new Map(filesOfSet(readFileSync(path.join(ROOT, 'gen', 'berth.binpb'))).map((b) => [fromBinary(FileDescriptorProtoSchema, b).name, Buffer.from(b)]));

const decode = (answer: any): FileDescriptorProto[] =>
  (answer.file_descriptor_response.file_descriptor_proto as Buffer[]).map((b) => fromBinary(FileDescriptorProtoSchema, b));
const json = (f: FileDescriptorProto) => toJson(FileDescriptorProtoSchema, f);
/** Messages with their fields (name, number, type), the shape a client resolves. */
const shape = (f: FileDescriptorProto) => f.messageType.map((m) => [m.name, m.field.map((x) => [x.name, x.number, x.type, x.typeName])]);

describe('server reflection from the compiled descriptors', () => {
  let t: TestBerth;
  let key = '';
  let nodeId = '';
  /** The typed service's file: named after the folder and node, its directory matching its package. */
  const TYPED_FILE = 'berth/nodes/default_pb/tagger/v1/api.proto';
  let service = '';
  /** The alias in front of the node, and its typed service: named after the folder and alias, whatever node it points to. */
  let aliasId = '';
  const ALIAS_FILE = 'berth/aliases/default_pb/tagged/v1/api.proto';
  const ALIAS_SERVICE = 'berth.aliases.default_pb.tagged.v1.TaggedService';
  const md = () => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${key}`);
    return m;
  };

  async function ok(method: string, p: string, body?: unknown): Promise<any> {
    const res = await rest(t.http, method, p, body, { authorization: `Bearer ${key}` });
    assert.equal(res.status, 200, `${method} ${p}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const wait = async (operationId: string) => {
    const op = await ok('POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' });
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op;
  };

  before(async () => {
    t = (await startTestBerth('sqlite', { auth: 'keys' }))!;
    key = readFileSync(path.join(t.config.dataDir, 'admin.key'), 'utf8').trim();
    const cells = ['x = 1.0\ntags = []', 'y = x * 2\ncount = len(tags)\nseen = {"first": tags[0] if tags else None}'];
    const checkpointId = (await wait((await ok('POST', '/v1/checkpoints', { folderId: 'default', name: 'tagger', cells: { cells }, servedCellIndex: 1 })).id)).resourceId;
    const op = await ok('POST', '/v1/nodes', {
      folderId: 'default',
      name: 'tagger',
      spec: {
        checkpoint: {
          checkpointId,
          inputVariables: [
            { name: 'x', type: 'VARIABLE_TYPE_FLOAT' },
            { name: 'tags', type: 'VARIABLE_TYPE_LIST' },
          ],
          outputVariables: [
            { name: 'y', type: 'VARIABLE_TYPE_FLOAT' },
            { name: 'count', type: 'VARIABLE_TYPE_INT' },
            { name: 'seen', type: 'VARIABLE_TYPE_DICT' },
          ],
        },
        instanceRange: { min: 1, max: 1 },
      },
    });
    nodeId = (await wait(op.id)).resourceId;
    service = (await ok('GET', `/v1/nodes/${nodeId}/api`)).service;
    aliasId = (await ok('POST', '/v1/aliases', { folderId: 'default', name: 'tagged', targets: [{ nodeId, weight: 100 }] })).id;
    await waitFor('the alias typed service to be registered', async () => (await grpcHealth(t.grpc, ALIAS_SERVICE)) === 'SERVING');
  });

  after(async () => {
    await t?.close();
  });

  it('answers file_by_filename with the file as compiled and its dependencies, the google ones real (v1 and v1alpha)', async () => {
    const [v1] = await reflect(t.grpc, [{ file_by_filename: 'berth/v1/folder_service.proto' }], md());
    const files = decode(v1);
    const [file, ...dependencies] = files;
    assert.equal(file!.name, 'berth/v1/folder_service.proto');
    assert.deepEqual(file!.dependency, [
      'berth/v1/folder.proto',
      'google/api/annotations.proto',
      'google/api/field_behavior.proto',
      'google/protobuf/empty.proto',
      'google/protobuf/field_mask.proto',
    ]);
    assert.deepEqual(json(file!), json(compiled.get(file!.name)!), 'the file as compiled, options and comments included');
    // Byte for byte as in the descriptor set, options (unknown to descriptor.proto's schema) included.
    assert.ok((v1.file_descriptor_response.file_descriptor_proto[0] as Buffer).equals(compiledBytes.get(file!.name)!));
    const list = file!.service[0]!.method.find((m) => m.name === 'ListFolders')!;
    assert.ok(list.options?.$unknown?.some((u) => u.no === 72295728), 'the google.api.http option is there');
    // Every file it imports, directly or not, once; each as compiled.
    assert.deepEqual(
      dependencies.map((d) => d.name).sort(),
      ['berth/v1/folder.proto', 'google/api/annotations.proto', 'google/api/field_behavior.proto', 'google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/protobuf/empty.proto', 'google/protobuf/field_mask.proto', 'google/protobuf/timestamp.proto'],
    );
    for (const d of dependencies) assert.deepEqual(json(d), json(compiled.get(d.name)!), d.name);
    // The google files are the real ones: the same messages as protobuf's own descriptors.
    for (const real of [file_google_protobuf_empty, file_google_protobuf_field_mask, file_google_protobuf_timestamp])
      assert.deepEqual(shape(dependencies.find((d) => d.name === real.proto.name)!), shape(real.proto), real.proto.name);
    const annotations = dependencies.find((d) => d.name === 'google/api/annotations.proto')!;
    assert.deepEqual(annotations.extension.map((e) => [e.name, e.number, e.extendee]), [['http', 72295728, '.google.protobuf.MethodOptions']]);

    // v1alpha answers alike; extensions are found by number.
    const alpha = grpc.loadPackageDefinition(
      (await import('@grpc/proto-loader')).loadSync(require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto'), { keepCase: true, oneofs: true }),
    ) as any;
    const client = new alpha.grpc.reflection.v1alpha.ServerReflection(t.grpc, grpc.credentials.createInsecure());
    const answers: any[] = await new Promise((resolve, reject) => {
      const out: any[] = [];
      const call = client.ServerReflectionInfo(md());
      call.on('data', (d: any) => out.push(d) === 3 && call.end());
      call.on('error', reject);
      call.on('end', () => resolve(out));
      call.write({ file_by_filename: 'berth/v1/folder_service.proto' });
      call.write({ file_containing_extension: { containing_type: 'google.protobuf.MethodOptions', extension_number: 72295728 } });
      call.write({ all_extension_numbers_of_type: 'google.protobuf.FieldOptions' });
    });
    client.close();
    assert.deepEqual(decode(answers[0]).map(json), files.map(json));
    assert.equal(decode(answers[1])[0]!.name, 'google/api/annotations.proto');
    assert.deepEqual(answers[2].all_extension_numbers_response.extension_number, [1052]);

    // Bytes that are no ServerReflectionRequest are answered with INVALID_ARGUMENT on the stream.
    const raw = new grpc.Client(t.grpc, grpc.credentials.createInsecure());
    const refused: Buffer = await new Promise((resolve, reject) => {
      const call = raw.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', (b: Buffer) => b, (b: Buffer) => b, md());
      call.on('data', (d: Buffer) => {
        resolve(d);
        call.end();
      });
      call.on('error', reject);
      call.write(Buffer.from([0x0a, 0xff, 0xff]));
    });
    raw.close();
    const responseDesc = descriptors().registry.getMessage('grpc.reflection.v1.ServerReflectionResponse')!;
    const decoded = toJson(responseDesc, fromBinary(responseDesc, refused)) as any;
    assert.equal(decoded.errorResponse?.errorCode, grpc.status.INVALID_ARGUMENT, JSON.stringify(decoded));
  });

  it("serves the node's and the alias's typed services in files of their own, each the same as its api.proto compiled, importing struct.proto", async () => {
    for (const [symbol, fileName, apiPath] of [
      [service, TYPED_FILE, `/v1/nodes/${nodeId}/api.proto`],
      [ALIAS_SERVICE, ALIAS_FILE, `/v1/aliases/${aliasId}/api.proto`],
    ] as const) {
      const [answer] = await reflect(t.grpc, [{ file_containing_symbol: symbol }], md());
      const [file, ...dependencies] = decode(answer);
      assert.equal(file!.name, fileName);
      assert.deepEqual(file!.dependency, ['google/protobuf/struct.proto']);
      assert.deepEqual(dependencies.map((d) => d.name), ['google/protobuf/struct.proto']);
      assert.deepEqual(shape(dependencies[0]!), shape(file_google_protobuf_struct.proto));

      // The .proto that GET …/api.proto serves, compiled by buf, is the same file.
      const source = await rest(t.http, 'GET', apiPath, undefined, { authorization: `Bearer ${key}` });
      assert.equal(source.status, 200);
      const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-api-proto-'));
      try {
        mkdirSync(path.join(dir, path.dirname(fileName)), { recursive: true });
        writeFileSync(path.join(dir, fileName), source.body as string);
        execFileSync(BUF, ['build', dir, '--exclude-imports', '--exclude-source-info', '-o', path.join(dir, 'out.binpb')], { stdio: 'pipe' });
        const built = fromBinary(FileDescriptorSetSchema, readFileSync(path.join(dir, 'out.binpb'))).file;
        assert.deepEqual(built.map(json), [json(file!)]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('is enough for a Python client with a descriptor pool and no .proto to describe and call Berth, a typed node service and a typed alias service', async () => {
    const { stdout } = await run(SYSTEM_PYTHON, [path.join(__dirname, 'fixtures', 'reflection_client.py'), t.grpc, key, service, ALIAS_SERVICE], { timeout: 120_000 });
    const seen = JSON.parse(stdout);
    for (const name of ['berth.v1.FolderService', 'berth.v1.NodeService', 'grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', service])
      assert.ok(seen.services.includes(name), `${name} is not listed: ${seen.services.join(', ')}`);
    assert.deepEqual(Object.keys(seen.described).sort(), [
      'berth.v1.AliasService',
      'berth.v1.AuditService',
      'berth.v1.CheckpointService',
      'berth.v1.FolderService',
      'berth.v1.IamService',
      'berth.v1.NodeService',
      'berth.v1.OperationService',
      'berth.v1.SecretService',
      'berth.v1.UsageService',
    ]);
    const folders = seen.described['berth.v1.FolderService'];
    assert.equal(folders.file, 'berth/v1/folder_service.proto');
    assert.equal(folders.answered[0], 'berth/v1/folder_service.proto');
    assert.deepEqual(folders.methods.ListFolders, ['berth.v1.ListFoldersRequest', 'berth.v1.ListFoldersResponse']);
    assert.ok(seen.described['berth.v1.NodeService'].methods.Execute, 'NodeService/Execute is described');
    assert.ok(seen.folders.includes('default'), JSON.stringify(seen.folders));
    // GetCaller's answer holds a google.protobuf.Timestamp: the type that a merged file left undefined.
    assert.equal(seen.caller.principal.name, 'admin', JSON.stringify(seen.caller));
    assert.match(seen.caller.principal.create_time, /^\d{4}-\d\d-\d\dT/);
    assert.ok(seen.nodes.includes(nodeId));
    assert.equal(seen.typed.file, TYPED_FILE);
    assert.deepEqual(seen.typed.dependencies, ['google/protobuf/struct.proto']);
    assert.deepEqual(seen.typed.response, { y: 5, count: '3', seen: { first: 'a' } });
    assert.ok(seen.services.includes(ALIAS_SERVICE), `${ALIAS_SERVICE} is not listed`);
    assert.equal(seen.alias.file, ALIAS_FILE);
    assert.deepEqual(seen.alias.dependencies, ['google/protobuf/struct.proto']);
    assert.deepEqual(seen.alias.response, { y: 5, count: '3', seen: { first: 'a' } });
  });

  it('gives the typed services their own health status: SERVING with a healthy instance, NOT_SERVING without, unknown once the node or alias is gone', async () => {
    assert.equal(await grpcHealth(t.grpc, service), 'SERVING');
    assert.equal(await grpcHealth(t.grpc, ALIAS_SERVICE), 'SERVING');
    await wait((await ok('POST', `/v1/nodes/${nodeId}:suspend`, {})).id);
    await waitFor('the typed service to be NOT_SERVING', async () => (await grpcHealth(t.grpc, service)) === 'NOT_SERVING');
    // The alias's only node has no healthy instance: nor has the alias.
    await waitFor('the alias typed service to be NOT_SERVING', async () => (await grpcHealth(t.grpc, ALIAS_SERVICE)) === 'NOT_SERVING');
    await ok('DELETE', `/v1/aliases/${aliasId}`);
    await waitFor('the alias typed service to be unknown', async () => JSON.stringify(await grpcHealth(t.grpc, ALIAS_SERVICE)) === JSON.stringify({ code: grpc.status.NOT_FOUND }));
    const op = await ok('DELETE', `/v1/nodes/${nodeId}`);
    await wait(op.id);
    await waitFor('the typed service to be unknown', async () => JSON.stringify(await grpcHealth(t.grpc, service)) === JSON.stringify({ code: grpc.status.NOT_FOUND }));
    const [answer] = await reflect(t.grpc, [{ file_by_filename: TYPED_FILE }], md());
    assert.equal(answer.error_response?.error_code, grpc.status.NOT_FOUND);
  });
});
