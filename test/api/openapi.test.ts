/**
 * The control plane's OpenAPI document: served without a key at
 * GET /openapi.json, equal to the committed docs/openapi.json, valid for a
 * real OpenAPI validator, describing every route the server takes, and good
 * enough for a generated client (openapi-typescript types + openapi-fetch)
 * to list folders against a real Berth. Also the HTTP side of grpc-gateway
 * parity: 405 with Allow, FAILED_PRECONDITION as 400.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import ts from 'typescript';
import { BERTH_SERVICES, descriptors } from '../../src/api/descriptors';
import { controlPlaneOpenApi } from '../../src/api/rest/openapi';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { IamSetup } from '../helpers/iam';
import { rest } from '../helpers/rest';

const ROOT = path.join(__dirname, '..', '..');
const COMMITTED = path.join(ROOT, 'docs', 'openapi.json');

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an OpenAPI document as JSON
type Doc = any;

/** The methods an `Allow` header names, sorted. */
const allowOf = (headers: Headers): string[] => (headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter((m) => m).sort();

/** A client for the served document, as a user of Berth would write it against the generated types. */
const CLIENT = `
import type createClientType from 'openapi-fetch';
import type { components, paths } from './berth-api';

type Folder = components['schemas']['berth.v1.Folder'];
type Status = components['schemas']['google.rpc.Status'];

export function berthClient(createClient: typeof createClientType, baseUrl: string, key: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${key}\` } });
  return {
    async createFolder(name: string): Promise<Folder> {
      const { data, error, response } = await client.POST('/v1/folders', { body: { name, labels: { team: 'a' } } });
      if (error) throw new Error(\`\${response.status} \${error.message}\`);
      return data;
    },
    async listFolderNames(): Promise<string[]> {
      const { data, error, response } = await client.GET('/v1/folders', { params: { query: { pageSize: 50 } } });
      if (error) throw new Error(\`\${response.status} \${error.message}\`);
      const folders: Folder[] = data.folders ?? [];
      return folders.map((f) => f.name ?? '');
    },
    async getFolder(folderId: string): Promise<{ status: number; folder?: Folder; error?: Status }> {
      const { data, error, response } = await client.GET('/v1/folders/{folder_id}', { params: { path: { folder_id: folderId } } });
      return { status: response.status, folder: data, error };
    },
    typeErrors() {
      // @ts-expect-error pageSize is an int32, not a string
      void client.GET('/v1/folders', { params: { query: { pageSize: 'ten' } } });
      // @ts-expect-error no such path
      void client.GET('/v1/folderz');
      // @ts-expect-error GetFolder needs its folder_id
      void client.GET('/v1/folders/{folder_id}', { params: { path: {} } });
    },
  };
}
`;

/** Type-checks the client against the generated types; the diagnostics as text (empty when it checks). */
function typeCheck(dir: string): string {
  const program = ts.createProgram([path.join(dir, 'client.ts')], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: [],
    skipLibCheck: true,
    // The client lives in a temporary directory: the package is found where Berth's are.
    baseUrl: ROOT,
    paths: { 'openapi-fetch': ['node_modules/openapi-fetch'] },
  });
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' });
}

let t: TestBerth;
let iam: IamSetup;

before(async () => {
  t = (await startTestBerth('sqlite', { auth: 'keys' }))!;
  iam = await new IamSetup(t).init();
});
after(async () => t?.close());

describe('the control plane OpenAPI document', () => {
  let served: Doc;
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'berth-openapi-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('is served without a key and equals the committed docs/openapi.json', async () => {
    const res = await fetch(`${t.http}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    served = await res.json();
    assert.deepEqual(served, JSON.parse(readFileSync(COMMITTED, 'utf8')), 'docs/openapi.json is stale: run `npm run gen` (or `npx tsx scripts/gen-openapi.ts`)');
    assert.deepEqual(served, controlPlaneOpenApi(descriptors().registry, BERTH_SERVICES));
  });

  it('passes an OpenAPI validator, which refuses a broken copy', async () => {
    const api = await SwaggerParser.validate(structuredClone(served));
    assert.equal((api as Doc).openapi, '3.0.3');
    const broken = structuredClone(served);
    broken.components.schemas['berth.v1.Folder'].properties.id.type = 'int64';
    await assert.rejects(SwaggerParser.validate(broken), /properties\/id\/type must be equal to one of the allowed values/);
  });

  it('describes messages in proto3 JSON, with the .proto comments', () => {
    const schemas = served.components.schemas;
    const folder = schemas['berth.v1.Folder'];
    assert.match(folder.description, /unit of tenancy/);
    assert.deepEqual(Object.keys(folder.properties), ['id', 'name', 'description', 'labels', 'createTime', 'updateTime', 'etag']);
    assert.equal(folder.properties.createTime.format, 'date-time');
    assert.equal(folder.properties.id.readOnly, true);
    assert.deepEqual(folder.properties.labels.additionalProperties, { type: 'string' });
    // Enums by name, 64-bit integers as strings, the error body as google.rpc.Status with Any details.
    assert.ok(schemas['berth.v1.EndpointType'].enum.includes('ENDPOINT_TYPE_HTTP'));
    const int64 = Object.values(schemas).flatMap((s: Doc) => Object.values(s.properties ?? {})).find((p: Doc) => p.format === 'int64' && p.type === 'string');
    assert.ok(int64, 'some int64 field is a string');
    assert.deepEqual(Object.keys(schemas['google.rpc.Status'].properties), ['code', 'message', 'details']);
    assert.deepEqual(schemas['google.rpc.Status'].properties.details.items.required, ['@type']);
    const del = served.paths['/v1/folders/{folder_id}'].delete;
    assert.match(del.summary, /^Deletes an empty folder/);
    assert.match(del.responses['400'].description, /FAILED_PRECONDITION/);
    assert.equal(del.responses['400'].content['application/json'].schema.$ref, '#/components/schemas/google.rpc.Status');
    assert.deepEqual(served.security, [{ apiKey: [] }]);
    assert.deepEqual(served.components.securitySchemes.apiKey, { ...served.components.securitySchemes.apiKey, type: 'http', scheme: 'bearer' });
  });

  it('says who may call each operation of the control plane', () => {
    const operations: Doc[] = Object.values(served.paths).flatMap((item: Doc) => Object.values(item) as Doc[]).filter((op: Doc) => op['x-grpc-method']);
    assert.ok(operations.length > 40, `${operations.length} operations`);
    for (const op of operations) {
      assert.ok(op['x-berth-access'], `${op['x-grpc-method']} says who may call it`);
      assert.ok(op.description.endsWith(`**Who may call it:** ${op['x-berth-access']}`), op['x-grpc-method']);
    }
    const of = (p: string, m: string) => served.paths[p][m]['x-berth-access'];
    assert.equal(of('/v1/folders', 'post'), 'A server admin.');
    assert.match(of('/v1/nodes', 'post'), /^The developer role or higher in the folder named by `node.folder_id`/);
    assert.match(of('/v1/nodes/{node_id}', 'get'), /^The viewer role or higher in the folder of the node named by `node_id`/);
    assert.match(of('/v1/nodes/{node_id}:execute', 'post'), /^The user role or higher in the node's folder or in a folder of its ACL/);
  });

  it('names only routes the server takes: each answers 401 without a key, not 404 or 405', async () => {
    let operations = 0;
    for (const [template, item] of Object.entries(served.paths as Record<string, Record<string, Doc>>)) {
      for (const [method, op] of Object.entries(item)) {
        const url = template.replace(/\{[^}]+\}/g, 'x1');
        const res = await rest(t.http, method.toUpperCase(), url, method === 'get' || method === 'delete' ? undefined : {});
        const open = Array.isArray(op.security) && op.security.length === 0;
        assert.equal(res.status, open ? 200 : 401, `${method.toUpperCase()} ${url}: ${JSON.stringify(res.body)}`);
        operations++;
      }
    }
    assert.ok(operations > 40, `${operations} operations`);
  });

  it('generates a typed client (openapi-typescript + openapi-fetch) that lists folders on a real server', async () => {
    const { default: openapiTS, astToString } = await import('openapi-typescript');
    writeFileSync(path.join(tmp, 'berth-api.ts'), astToString(await openapiTS(structuredClone(served))));
    writeFileSync(path.join(tmp, 'client.ts'), CLIENT);
    // The client and the @ts-expect-error lines check against the generated types.
    assert.equal(typeCheck(tmp), '');

    const { default: createClient } = await import('openapi-fetch');
    const { berthClient } = await import(pathToFileURL(path.join(tmp, 'client.ts')).href);
    const client = berthClient(createClient, t.http, iam.admin.secret);
    const created = await client.createFolder('from-openapi');
    assert.match(created.id, /^[a-z0-9]+$/);
    assert.deepEqual(created.labels, { team: 'a' });
    assert.deepEqual((await client.listFolderNames()).sort(), ['default', 'from-openapi']);
    const missing = await client.getFolder('nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.error?.code, 5);
    // Without the key the same client is refused as UNAUTHENTICATED.
    const anonymous = berthClient(createClient, t.http, 'not-a-key');
    await assert.rejects(anonymous.listFolderNames(), /^Error: 401 /);
  });
});

describe('REST statuses as grpc-gateway v2', () => {
  const key = (): Record<string, string> => iam.admin.headers;

  it('answers 405 with Allow naming the methods the path takes', async () => {
    const cases: Array<[method: string, path: string, allow: string[]]> = [
      ['PUT', '/v1/folders', ['GET', 'POST']],
      ['POST', '/v1/folders/fl1', ['DELETE', 'GET', 'PATCH']],
      ['GET', '/v1/operations/op1:wait', ['POST']],
      ['DELETE', '/v1/nodes/nd1:execute', ['POST']],
      // The typed routes and the document itself.
      ['GET', '/v1/nodes/nd1/api:execute', ['POST']],
      ['POST', '/v1/nodes/nd1/openapi.json', ['GET']],
      ['POST', '/openapi.json', ['GET']],
    ];
    for (const [method, url, allow] of cases) {
      const res = await rest(t.http, method, url, method === 'GET' || method === 'DELETE' ? undefined : {}, key());
      assert.equal(res.status, 405, `${method} ${url}`);
      assert.deepEqual(allowOf(res.headers), allow, `${method} ${url}`);
      assert.equal(res.body.code, 12, 'UNIMPLEMENTED, as grpc-gateway');
      assert.deepEqual(res.body.details, []);
    }
    const unknown = await rest(t.http, 'GET', '/v1/nothing', undefined, key());
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('allow'), null);
  });

  it('answers FAILED_PRECONDITION with 400 and a PreconditionFailure, told apart from INVALID_ARGUMENT by its code', async () => {
    const res = await rest(t.http, 'DELETE', '/v1/folders/default', undefined, key());
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 9);
    assert.match(res.body.message, /default folder/);
    assert.deepEqual(res.body.details.map((d: Doc) => d['@type']), ['type.googleapis.com/google.rpc.PreconditionFailure']);
    const invalid = await rest(t.http, 'GET', '/v1/folders?pageSize=-1', undefined, key());
    assert.equal(invalid.status, 400, JSON.stringify(invalid.body));
    assert.equal(invalid.body.code, 3);
  });
});
