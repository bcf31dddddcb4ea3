/**
 * An alias's typed API is a contract a client can keep: its api.proto stays
 * the same, byte for byte, while the alias switches between compatible nodes
 * (the same inputs and outputs, even declared in another order), and a Python
 * client with stubs generated once from it keeps calling through 10 switches
 * under load without a failure. Nodes that do not offer the same API are
 * refused as targets, and a node behind an alias cannot change its variables.
 * A real Berth with Python workers; the stubs are made by grpc_tools.protoc.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { rest, restViolations } from '../helpers/rest';
import { sleep, waitFor } from '../helpers/wait';
import { grpcHealth } from '../helpers/health';

/** Debian's Python, where python3-grpcio and python3-grpc-tools are installed. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const run = promisify(execFile);
const SWITCHES = 10;

describe('the typed API of an alias across switches', () => {
  let t: TestBerth;
  let key = '';
  const nodes: Record<string, string> = {};
  let aliasId = '';
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-alias-api-'));
  const auth = () => ({ authorization: `Bearer ${key}` });

  async function ok(method: string, p: string, body?: unknown): Promise<any> {
    const res = await rest(t.http, method, p, body, auth());
    assert.equal(res.status, 200, `${method} ${p}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const wait = async (operationId: string) => {
    const op = await ok('POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' });
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op;
  };
  const variables = (list: Array<[string, string]>) => list.map(([name, type]) => ({ name, type: `VARIABLE_TYPE_${type}` }));

  /** A checkpoint node that doubles x and says which version it is. */
  async function node(name: string, version: string, inputs: Array<[string, string]>, outputs: Array<[string, string]>): Promise<string> {
    const cells = [`version = ${JSON.stringify(version)}`, 'y = x * 2'];
    const checkpointId = (await wait((await ok('POST', '/v1/checkpoints', { folderId: 'default', name, cells: { cells }, servedCellIndex: 1 })).id)).resourceId;
    const op = await ok('POST', '/v1/nodes', {
      folderId: 'default',
      name,
      spec: { checkpoint: { checkpointId, inputVariables: variables(inputs), outputVariables: variables(outputs) }, instanceRange: { min: 1, max: 1 } },
    });
    return (await wait(op.id)).resourceId;
  }

  before(async () => {
    t = (await startTestBerth('sqlite', { auth: 'keys' }))!;
    key = readFileSync(path.join(t.config.dataDir, 'admin.key'), 'utf8').trim();
    // The same inputs and outputs, declared in other orders: compatible.
    nodes.a = await node('scorer-a', 'a', [['x', 'INT'], ['note', 'STR']], [['y', 'INT'], ['note', 'STR'], ['version', 'STR']]);
    nodes.b = await node('scorer-b', 'b', [['note', 'STR'], ['x', 'INT']], [['version', 'STR'], ['note', 'STR'], ['y', 'INT']]);
    // One more output: another API.
    nodes.c = await node('scorer-c', 'c', [['x', 'INT'], ['note', 'STR']], [['y', 'INT'], ['note', 'STR'], ['version', 'STR'], ['extra', 'INT']]);
    aliasId = (await ok('POST', '/v1/aliases', { folderId: 'default', name: 'scorer', targets: [{ nodeId: nodes.a, weight: 100 }] })).id;
  });

  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the typed REST route through the alias in protobuf JSON, naming the node that answered', async () => {
    const res = await rest(t.http, 'POST', `/v1/aliases/${aliasId}/api:execute`, { x: '21', note: 'hi' }, auth());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { note: 'hi', version: 'a', y: '42' });
    assert.equal(res.headers.get('x-berth-node-id'), nodes.a);
    const doc = await ok('GET', `/v1/aliases/${aliasId}/openapi.json`);
    assert.ok(doc.paths[`/v1/aliases/${aliasId}/api:execute`].post, JSON.stringify(Object.keys(doc.paths)));
    assert.deepEqual(Object.keys(doc.components.schemas.Outputs.properties), ['note', 'version', 'y']);
    // A bad input is named, as on the node's own route.
    const bad = await rest(t.http, 'POST', `/v1/aliases/${aliasId}/api:execute`, { x: 'many' }, auth());
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.deepEqual(restViolations(bad.body), ['input.x']);
    // An alias that does not exist.
    const missing = await rest(t.http, 'GET', '/v1/aliases/al0000000000000000000/api.proto', undefined, auth());
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
  });

  it('refuses a target with other outputs, and a change of variables on a node behind the alias', async () => {
    const refused = await rest(t.http, 'PATCH', `/v1/aliases/${aliasId}`, { targets: [{ nodeId: nodes.a, weight: 50 }, { nodeId: nodes.c, weight: 50 }] }, auth());
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(restViolations(refused.body), ['alias.targets[1].node_id']);
    assert.match(refused.body.message, /must offer the same API/);

    const changed = await rest(
      t.http,
      'PATCH',
      `/v1/nodes/${nodes.a}?update_mask=spec.checkpoint.output_variables`,
      { spec: { checkpoint: { outputVariables: variables([['y', 'INT']]) } } },
      auth(),
    );
    assert.equal(changed.status, 400, JSON.stringify(changed.body));
    assert.match(changed.body.message, /is a target of alias "scorer"/);
    assert.equal((await ok('GET', `/v1/aliases/${aliasId}`)).targets[0].nodeId, nodes.a);
  });

  it(`keeps api.proto byte-identical and a client generated from it working across ${SWITCHES} switches under load`, async (ctx) => {
    const before = await rest(t.http, 'GET', `/v1/aliases/${aliasId}/api.proto`, undefined, auth());
    assert.equal(before.status, 200);
    const proto = before.body as string;
    const pkg = /^package ([\w.]+);$/m.exec(proto)![1]!;
    const service = /^service (\w+) \{$/m.exec(proto)![1]!;
    assert.equal(pkg, 'berth.aliases.default_pb.scorer.v1');
    // Stubs made once, as a client developer would.
    const file = path.join(...pkg.split('.'), 'api.proto');
    mkdirSync(path.join(dir, 'proto', path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, 'proto', file), proto);
    mkdirSync(path.join(dir, 'stubs'));
    await run(SYSTEM_PYTHON, ['-m', 'grpc_tools.protoc', `-I${path.join(dir, 'proto')}`, `--python_out=${path.join(dir, 'stubs')}`, `--grpc_python_out=${path.join(dir, 'stubs')}`, file]);

    const stop = path.join(dir, 'stop');
    const load = run(SYSTEM_PYTHON, [path.join(__dirname, 'fixtures', 'alias_load_client.py'), t.grpc, key, path.join(dir, 'stubs'), pkg, service, stop], { timeout: 180_000 });
    const protos: string[] = [];
    const answeredBy: string[] = [];
    try {
      await sleep(500);
      for (let i = 1; i <= SWITCHES; i++) {
        const to = i % 2 === 1 ? nodes.b! : nodes.a!;
        await ok('PATCH', `/v1/aliases/${aliasId}`, { targets: [{ nodeId: to, weight: 100 }] });
        protos.push((await rest(t.http, 'GET', `/v1/aliases/${aliasId}/api.proto`, undefined, auth())).body as string);
        // The switch has taken: calls reach the new node.
        await waitFor('a call through the alias to reach the new node', async () => {
          const res = await rest(t.http, 'POST', `/v1/aliases/${aliasId}/api:execute`, { x: 1, note: 'probe' }, auth());
          return res.headers.get('x-berth-node-id') === to;
        }, 10_000, 50);
        answeredBy.push(to);
        await sleep(300);
      }
    } finally {
      writeFileSync(stop, '');
    }
    const outcome = JSON.parse((await load).stdout);
    ctx.diagnostic(`${outcome.calls} calls from 4 threads over ${SWITCHES} switches, answered by version ${JSON.stringify(outcome.versions)}, ${outcome.failures.length} failures`);
    for (const [i, p] of protos.entries()) assert.equal(p, proto, `api.proto after switch ${i + 1} differs`);
    assert.equal(answeredBy.length, SWITCHES);
    assert.deepEqual(outcome.failures, [], `failed calls: ${JSON.stringify(outcome.failures.slice(0, 5))}`);
    assert.deepEqual(outcome.wrong, []);
    assert.ok(outcome.calls >= 100, `only ${outcome.calls} calls were made`);
    assert.ok(outcome.versions.a > 0 && outcome.versions.b > 0, `both nodes answered: ${JSON.stringify(outcome.versions)}`);
    // The service is the same one all along, and healthy.
    assert.equal(await grpcHealth(t.grpc, `${pkg}.${service}`), 'SERVING');
    assert.ok(existsSync(path.join(dir, 'stubs', ...pkg.split('.'), 'api_pb2_grpc.py')));
  });
});
