/**
 * The Python client (clients/python) from this checkout, with Debian's
 * Python (python3-grpcio, python3-protobuf): its README example run against
 * a real `berth serve` with TLS and API keys, from a folder to a call of a
 * notebook node, and what it made read back over REST.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { endProcessInstances } from '../helpers/process-instances';
import { codeBlock } from '../helpers/readme';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { httpsGetJson, makeTestPki, type TestPki } from '../helpers/tls';

const ROOT = path.join(__dirname, '..', '..');
const README = path.join(ROOT, 'clients', 'python', 'README.md');
/** Debian's Python, where python3-grpcio and python3-protobuf are installed. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

/** GetCaller without a key and with the one in $KEY. */
const CALLER_SCRIPT = [
  'import os, grpc, berth_client',
  'print("from:", berth_client.__file__)',
  'from pathlib import Path',
  'from berth.v1 import iam_service_pb2',
  'ca = Path(os.environ["BERTH_CA"]).read_bytes()',
  'with berth_client.connect(os.environ["BERTH_ADDRESS"], tls=ca) as anonymous:',
  '    try:',
  '        anonymous.iam.GetCaller(iam_service_pb2.GetCallerRequest())',
  '    except grpc.RpcError as err:',
  '        print("anonymous:", err.code().name)',
  'with berth_client.connect(os.environ["BERTH_ADDRESS"], api_key=os.environ["KEY"], tls=ca) as admin:',
  '    caller = admin.iam.GetCaller(iam_service_pb2.GetCallerRequest())',
  '    print("admin:", caller.principal.name, caller.key_id)',
].join('\n');

describe('the Python client (clients/python)', () => {
  let pki: TestPki;
  let serve: ServeProcess;
  let dataDir: string;
  let work: string;
  let adminKey: string;

  /** Runs a script with the client on the path (this checkout's, as the README says), against the server. */
  async function python(script: string, env: Record<string, string> = {}, pythonPath = path.join(ROOT, 'clients', 'python')): Promise<string> {
    const file = path.join(work, `script-${Date.now()}.py`);
    writeFileSync(file, script);
    const { stdout } = await run(SYSTEM_PYTHON, [file], {
      cwd: work,
      timeout: 240_000,
      env: {
        ...process.env,
        PYTHONPATH: pythonPath,
        PYTHONDONTWRITEBYTECODE: '1',
        BERTH_ADDRESS: `localhost:${serve.grpcPort}`,
        BERTH_CA: pki.caFile,
        ...env,
      },
    }).catch((err) => assert.fail(`python: ${err.message}\n${err.stdout}\n${err.stderr}`));
    return stdout;
  }
  const get = async (requestPath: string) => {
    const res = await httpsGetJson(serve.httpPort, requestPath, pki.ca, { authorization: `Bearer ${adminKey}` });
    assert.equal(res.status, 200, `${requestPath}: ${JSON.stringify(res.body)}`);
    return res.body;
  };

  before(async () => {
    pki = await makeTestPki();
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-py-client-'));
    work = mkdtempSync(path.join(os.tmpdir(), 'berth-py-work-'));
    serve = await startServe([
      '--auth', 'keys', '--tls-cert', pki.certFile, '--tls-key', pki.keyFile,
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir,
      '--runtime', 'process', '--cluster-id', `py-client-${process.pid}`, '--startup-timeout-ms', '60000',
    ]);
    adminKey = readFileSync(path.join(dataDir, 'admin.key'), 'utf8').trim();
  });

  after(async () => {
    serve?.proc.kill('SIGTERM');
    await serve?.exited;
    if (dataDir) endProcessInstances(dataDir);
    for (const dir of [dataDir, work, pki?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the README example: a folder, a checkpoint, a node serving a cell, and a call of it', async () => {
    const stdout = await python(codeBlock(README, 'python'), { BERTH_API_KEY: adminKey });
    const folderId = /^created folder forecasts (\S+)$/m.exec(stdout)?.[1];
    const nodeId = /^created node scale (\S+)$/m.exec(stdout)?.[1];
    assert.ok(folderId && nodeId, stdout);
    assert.deepEqual(/^folders: (.*)$/m.exec(stdout)?.[1]?.split(', ').sort(), ['default', 'forecasts']);
    assert.match(stdout, /^y = 42$/m, 'x = 14 times the captured factor 3');
    assert.match(stdout, /^no-such-folder: NOT_FOUND$/m);

    assert.equal((await get(`/v1/folders/${folderId}`)).name, 'forecasts');
    const node = await get(`/v1/nodes/${nodeId}`);
    assert.equal(node.folderId, folderId);
    assert.equal(node.name, 'scale');
    const checkpoint = await get(`/v1/checkpoints/${node.spec.checkpoint.checkpointId}`);
    assert.equal(checkpoint.folderId, folderId);
  });

  it('sends the key on every call: without it Berth answers UNAUTHENTICATED, with it the caller is the admin', async () => {
    const stdout = await python(CALLER_SCRIPT, { KEY: adminKey });
    assert.match(stdout, /^anonymous: UNAUTHENTICATED$/m);
    const keyId = /^berth_(ak[0-9a-z]+)_/.exec(adminKey)![1];
    assert.match(stdout, new RegExp(`^admin: admin ${keyId}$`, 'm'));
  });

  it('installs with pip from its directory (offline) and works from there', async () => {
    // A copy, since setuptools writes build/ beside the sources.
    const source = path.join(work, 'berth-client-src');
    cpSync(path.join(ROOT, 'clients', 'python'), source, { recursive: true, filter: (p) => !p.includes('__pycache__') });
    const site = path.join(work, 'site');
    await run(SYSTEM_PYTHON, ['-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation', '--no-index', '--target', site, source], {
      timeout: 120_000,
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_ROOT_USER_ACTION: 'ignore' },
    }).catch((err) => assert.fail(`pip install: ${err.message}\n${err.stderr}`));
    const stdout = await python(CALLER_SCRIPT, { KEY: adminKey }, site);
    assert.match(stdout, new RegExp(`^from: ${site}/berth_client/__init__\\.py$`, 'm'));
    assert.match(stdout, /^anonymous: UNAUTHENTICATED$/m);
    assert.match(stdout, /^admin: admin ak/m);
  });
});
