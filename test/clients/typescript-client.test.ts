/**
 * The TypeScript client as a dependent project uses it: `berth/client`
 * resolved through the package's `exports` (a node_modules/berth link to this
 * checkout), its README example typechecked against the emitted declarations
 * and run against a real `berth serve` with TLS and API keys.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type * as BerthClientModule from '../../src/client';
import { codeBlock } from '../helpers/readme';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { httpsGetJson, makeTestPki, type TestPki } from '../helpers/tls';

const ROOT = path.join(__dirname, '..', '..');
const README = path.join(ROOT, 'clients', 'typescript', 'README.md');
const run = promisify(execFile);

describe('the TypeScript client (berth/client)', () => {
  let pki: TestPki;
  let serve: ServeProcess;
  let dataDir: string;
  let project: string;
  let adminKey: string;

  before(async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'src', 'client', 'index.d.ts')), 'berth/client is built: run `npm run build` first');
    pki = await makeTestPki();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-ts-client-'));
    serve = await startServe([
      '--auth', 'keys', '--tls-cert', pki.certFile, '--tls-key', pki.keyFile,
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir, '--runtime', 'process',
    ]);
    adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
    // A project depending on berth: node_modules/berth is this checkout.
    project = mkdtempSync(path.join(os.tmpdir(), 'berth-ts-project-'));
    mkdirSync(path.join(project, 'node_modules'));
    symlinkSync(ROOT, path.join(project, 'node_modules', 'berth'), 'dir');
    writeFileSync(path.join(project, 'example.mts'), codeBlock(README, 'ts'));
  });

  after(async () => {
    serve?.proc.kill('SIGTERM');
    await serve?.exited;
    for (const dir of [dataDir, project, pki?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("typechecks the README example against the package's declarations", async () => {
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
          types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')],
        },
        files: ['example.mts'],
      }),
    );
    await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, timeout: 120_000 }).catch((err) => {
      assert.fail(`tsc: ${err.stdout}${err.stderr}`);
    });
  });

  it('runs the README example against Berth over TLS with an API key', async () => {
    const tsx = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const { stdout } = await run(process.execPath, ['--import', tsx, 'example.mts'], {
      cwd: project,
      timeout: 60_000,
      env: { ...process.env, BERTH_ADDRESS: `localhost:${serve.grpcPort}`, BERTH_CA: pki.caFile, BERTH_API_KEY: adminKey },
    });
    const created = /^created folder reports (\S+)$/m.exec(stdout);
    assert.ok(created, stdout);
    const listed = /^folders: (.*)$/m.exec(stdout)?.[1]?.split(', ');
    assert.ok(listed?.includes('reports') && listed.includes('default'), stdout);
    assert.match(stdout, /^no-such-folder: NOT_FOUND$/m);

    const folder = await httpsGetJson(serve.httpPort, `/v1/folders/${created[1]}`, pki.ca, { authorization: `Bearer ${adminKey}` });
    assert.equal(folder.status, 200, JSON.stringify(folder.body));
    assert.equal(folder.body.name, 'reports');
  });

  it('sends the key on every call: without it Berth answers UNAUTHENTICATED, with it the caller is the admin', async () => {
    const client: typeof BerthClientModule = require('berth/client');
    assert.equal(require.resolve('berth/client'), path.join(ROOT, 'dist', 'src', 'client', 'index.js'));
    const address = `localhost:${serve.grpcPort}`;
    const anonymous = client.connect({ address, tls: { ca: pki.ca } });
    const admin = client.connect({ address, tls: { ca: pki.ca.toString() }, apiKey: adminKey });
    try {
      await assert.rejects(client.call(anonymous.iam, 'getCaller', {}), (err: any) => err.code === client.status.UNAUTHENTICATED);
      const caller = await client.call(admin.iam, 'getCaller', {});
      assert.equal(caller.principal?.name, 'admin');
      assert.ok(caller.keyId, 'the call carried a key');
      // Every service is there, on the one channel.
      const pages = await Promise.all([
        client.call(admin.nodes, 'listNodes', client.ListNodesRequest.fromPartial({ folderId: 'default' })),
        client.call(admin.aliases, 'listAliases', client.ListAliasesRequest.fromPartial({ folderId: 'default' })),
        client.call(admin.checkpoints, 'listCheckpoints', client.ListCheckpointsRequest.fromPartial({ folderId: 'default' })),
        client.call(admin.secrets, 'listSecrets', client.ListSecretsRequest.fromPartial({ folderId: 'default' })),
        client.call(admin.operations, 'listOperations', client.ListOperationsRequest.fromPartial({ folderId: 'default' })),
        client.call(admin.audit, 'listAuditRecords', client.ListAuditRecordsRequest.fromPartial({ folderId: 'default' })),
      ]);
      assert.deepEqual(pages.map((p) => Object.values(p).find(Array.isArray)), [[], [], [], [], [], []]);
    } finally {
      anonymous.close();
      admin.close();
    }
  });
});
