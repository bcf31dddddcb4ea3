/**
 * Named configurations and usage with a real `berth serve` (process runtime,
 * real Python workers):
 * - ListConfigurations shows the shipped catalog; a node naming `small` gets
 *   its cpu and memory; an unknown name is INVALID_ARGUMENT naming
 *   `node.spec.configuration.name` and listing the known ones.
 * - Usage of a node with 2 instances over a measured interval equals
 *   2 × the interval × the configuration's units, ±1 second per instance,
 *   with Berth killed (SIGKILL) and started again on the same data dir in the
 *   middle; counted from each instance's real start, and no longer once the
 *   node is suspended.
 * - An operator's catalog file and `--allow-raw-configurations false`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { UsageGranularity, UsageServiceClient } from '../../gen/berth/v1/usage_service';
import { unary } from '../helpers/grpc';
import { viaGrpc } from '../helpers/refusals';
import { rest, restViolations } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';

const NOTEBOOK = JSON.stringify({
  cells: [{ cell_type: 'code', metadata: {}, outputs: [], execution_count: 1, source: 'y = x * 2\n' }],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
});
const GiB = 2 ** 30;
const VARIABLES = { inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] };

describe('named configurations and usage across a restart', () => {
  let serve: ServeProcess | undefined;
  let checkpointId = '';
  let nodeId = '';
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-usage-'));
  const args = ['--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir, '--runtime', 'process', '--cluster-id', `usage${randomBytes(4).toString('hex')}`];
  const http = () => `http://127.0.0.1:${serve!.httpPort}`;
  const usage = async (query: Record<string, string>) => rest(http(), 'GET', `/v1/folders/default/usage?${new URLSearchParams(query)}`);

  before(async () => {
    serve = await startServe(args);
    const cap = await rest(http(), 'POST', '/v1/checkpoints', { folderId: 'default', name: 'double', notebook: NOTEBOOK, servedCellIndex: 0 });
    assert.equal(cap.status, 200, JSON.stringify(cap.body));
    const captured = await rest(http(), 'POST', `/v1/operations/${cap.body.id}:wait`, { timeout: '60s' });
    assert.equal(captured.body.error, undefined, JSON.stringify(captured.body));
    checkpointId = captured.body.resourceId;
  });

  after(async () => {
    if (serve && nodeId) {
      const del = await rest(http(), 'DELETE', `/v1/nodes/${nodeId}`).catch(() => undefined);
      if (del?.status === 200) await rest(http(), 'POST', `/v1/operations/${del.body.id}:wait`, { timeout: '30s' }).catch(() => undefined);
    }
    serve?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the shipped catalog: small, medium, large and gpu, with raw configurations allowed', async () => {
    const res = await rest(http(), 'GET', '/v1/configurations');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.configurations.map((c: any) => [c.name, c.cpu, Number(c.memoryBytes), c.gpu ?? 0, c.units]),
      [
        ['small', 1, 4 * GiB, 0, 2],
        ['medium', 4, 16 * GiB, 0, 8],
        ['large', 16, 64 * GiB, 0, 32],
        ['gpu', 8, 48 * GiB, 1, 40],
      ],
    );
    assert.equal(res.body.rawAllowed, true);
    assert.match(res.body.rawUnits, /cpu cores/);
  });

  it('refuses an unknown configuration name, naming the field and the known names', async () => {
    const res = await rest(http(), 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'huge',
      spec: { checkpoint: { checkpointId, ...VARIABLES }, configuration: { name: 'huge' } },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 3);
    assert.deepEqual(restViolations(res.body), ['node.spec.configuration.name']);
    assert.match(res.body.message, /"huge" is not a configuration of this server; known: small, medium, large, gpu/);
  });

  it('gives a node that names "small" its cpu and memory, and counts 2 instances × the interval × its units across a SIGKILL of Berth', async (t) => {
    const created = await rest(http(), 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'metered',
      spec: { checkpoint: { checkpointId, ...VARIABLES }, configuration: { name: 'small' }, instanceRange: { min: 2, max: 2 } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    nodeId = created.body.resourceId;
    const op = await rest(http(), 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.error, undefined, JSON.stringify(op.body));
    const node = (await rest(http(), 'GET', `/v1/nodes/${nodeId}`)).body;
    assert.deepEqual(
      { name: node.spec.configuration.name, cpu: node.spec.configuration.cpu, memoryBytes: Number(node.spec.configuration.memoryBytes) },
      { name: 'small', cpu: 1, memoryBytes: 4 * GiB },
    );
    const before = (await rest(http(), 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances;
    assert.equal(before.length, 2);

    const t0 = new Date();
    await sleep(3000);
    serve!.proc.kill('SIGKILL');
    await serve!.exited;
    const killedAt = Date.now();
    await sleep(2000);
    serve = await startServe(args);
    t.diagnostic(`Berth was down for ${Date.now() - killedAt} ms`);
    // The same two instances, adopted: they ran all along.
    const adopted = await waitFor('both instances adopted and healthy', async () => {
      const list = (await rest(http(), 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances ?? [];
      return list.length === 2 && list.every((i: any) => i.state === 'INSTANCE_STATE_HEALTHY') ? list : undefined;
    }, 30_000);
    assert.deepEqual(adopted.map((i: any) => i.runtimeId).sort(), before.map((i: any) => i.runtimeId).sort());
    await sleep(3000);
    const t1 = new Date();

    const interval = (t1.getTime() - t0.getTime()) / 1000;
    const res = await usage({ node_id: nodeId, start_time: t0.toISOString(), end_time: t1.toISOString(), granularity: 'USAGE_GRANULARITY_TOTAL' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seconds = Number(res.body.totalInstanceSeconds);
    t.diagnostic(`interval ${interval} s; instance-seconds ${seconds}; units ${res.body.totalUnits}`);
    assert.equal(res.body.records.length, 1);
    assert.equal(res.body.records[0].nodeId, nodeId);
    assert.ok(Math.abs(seconds / 2 - interval) <= 1, `2 instances × ${interval} s ±1 s each, got ${seconds} instance-seconds`);
    assert.equal(res.body.totalUnits, seconds * 2, 'small counts 2 units per instance-second');

    // From each instance's real start (recorded by the runtime), not from when Berth first saw it.
    const since = new Date(Date.parse(node.createTime) - 60_000);
    const all = await usage({ node_id: nodeId, start_time: since.toISOString(), end_time: t1.toISOString(), granularity: 'USAGE_GRANULARITY_TOTAL' });
    // Each instance's uptime to t1, per second rounded up.
    const expected = adopted.reduce((sum: number, i: any) => sum + Math.ceil((t1.getTime() - Date.parse(i.startTime)) / 1000), 0);
    t.diagnostic(`since the starts: expected ${expected} instance-seconds, got ${all.body.totalInstanceSeconds}`);
    assert.equal(Number(all.body.totalInstanceSeconds), expected);

    // Hourly buckets add up to the total.
    const hourly = await usage({ node_id: nodeId, start_time: since.toISOString(), end_time: t1.toISOString(), granularity: 'USAGE_GRANULARITY_HOUR' });
    assert.equal(hourly.status, 200, JSON.stringify(hourly.body));
    assert.equal(hourly.body.records.reduce((s: number, r: any) => s + Number(r.instanceSeconds), 0), Number(all.body.totalInstanceSeconds));

    // Suspended: the instances stop, and so does the count.
    await sleep(2000);
    const asked = Date.now();
    const suspend = await rest(http(), 'POST', `/v1/nodes/${nodeId}:suspend`, {});
    assert.equal(suspend.status, 200, JSON.stringify(suspend.body));
    const done = await rest(http(), 'POST', `/v1/operations/${suspend.body.id}:wait`, { timeout: '30s' });
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
    const stopped = Date.now();
    await sleep(3000);
    const later = await usage({ node_id: nodeId, start_time: t0.toISOString(), end_time: new Date().toISOString(), granularity: 'USAGE_GRANULARITY_TOTAL' });
    const counted = Number(later.body.totalInstanceSeconds);
    const [low, high] = [(2 * (asked - t0.getTime())) / 1000 - 2, (2 * (stopped - t0.getTime())) / 1000 + 2];
    t.diagnostic(`suspended: ${counted} instance-seconds since t0, expected between ${low} and ${high}`);
    assert.ok(counted >= low && counted <= high, `${counted} not in [${low}, ${high}]`);
  });

  it('switches a node to another configuration by its name alone; other updates keep its values', async () => {
    assert.ok(nodeId, 'the metered node exists');
    const before = (await rest(http(), 'GET', `/v1/nodes/${nodeId}`)).body;
    const renamed = await rest(http(), 'PATCH', `/v1/nodes/${nodeId}`, { spec: { configuration: { name: 'medium' } } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.deepEqual(renamed.body.spec.configuration, { name: 'medium', cpu: 4, memoryBytes: String(16 * GiB), gpu: 0 });
    assert.equal(Number(renamed.body.generation), Number(before.generation) + 1);
    const described = await rest(http(), 'PATCH', `/v1/nodes/${nodeId}`, { description: 'still medium' });
    assert.equal(described.status, 200, JSON.stringify(described.body));
    assert.equal(described.body.generation, renamed.body.generation, 'a description change leaves the spec alone');
    const unknown = await rest(http(), 'PATCH', `/v1/nodes/${nodeId}?update_mask=spec.configuration.name`, { spec: { configuration: { name: 'xl' } } });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.deepEqual(restViolations(unknown.body), ['node.spec.configuration.name']);
  });

  it('answers bad usage requests with INVALID_ARGUMENT naming the field, an unknown folder with NOT_FOUND', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ end_time: '2026-01-02T00:00:00Z', granularity: 'USAGE_GRANULARITY_DAY' }, 'start_time'],
      [{ start_time: '2026-01-02T00:00:00Z', end_time: '2026-01-01T00:00:00Z', granularity: 'USAGE_GRANULARITY_DAY' }, 'end_time'],
      [{ start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z' }, 'granularity'],
      [{ start_time: '2020-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z', granularity: 'USAGE_GRANULARITY_HOUR' }, 'end_time'],
      [{ start_time: 'yesterday', end_time: '2026-01-02T00:00:00Z', granularity: 'USAGE_GRANULARITY_DAY' }, 'start_time'],
      [{ start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z', granularity: 'WEEK' }, 'granularity'],
      [{ start_time: '2026-01-01T00:00:00Z', end_time: '2026-01-02T00:00:00Z', granularity: 'USAGE_GRANULARITY_DAY', node_id: 'No Such/Id' }, 'node_id'],
    ];
    for (const [query, field] of cases) {
      const res = await usage(query);
      assert.equal(res.status, 400, `${JSON.stringify(query)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 3);
      assert.deepEqual(restViolations(res.body), [field], `${JSON.stringify(query)} → ${JSON.stringify(res.body)}`);
    }
    const missing = await rest(http(), 'GET', '/v1/folders/nosuchfolder/usage?start_time=2026-01-01T00:00:00Z&end_time=2026-01-02T00:00:00Z&granularity=USAGE_GRANULARITY_DAY');
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
  });

  it('answers the same over gRPC, with the generated client', async () => {
    const client = new UsageServiceClient(`127.0.0.1:${serve!.grpcPort}`, credentials.createInsecure());
    try {
      const day = { folderId: 'default', nodeId: '', startTime: new Date('2026-01-01T00:00:00Z'), endTime: new Date('2026-01-02T00:00:00Z') };
      const ok: any = await unary(client, 'getUsage', { ...day, granularity: UsageGranularity.USAGE_GRANULARITY_DAY });
      assert.deepEqual(ok, { records: [], totalInstanceSeconds: 0, totalUnits: 0 });
      const refused = await viaGrpc(client, 'getUsage', { ...day, granularity: 9 });
      assert.deepEqual([refused.code, refused.fields], [3, ['granularity']]);
      const bad = await viaGrpc(client, 'getUsage', { ...day, startTime: undefined, granularity: UsageGranularity.USAGE_GRANULARITY_DAY });
      assert.deepEqual([bad.code, bad.fields], [3, ['start_time']]);
      const listed: any = await unary(client, 'listConfigurations', {});
      assert.deepEqual(listed.configurations.map((c: any) => c.name), ['small', 'medium', 'large', 'gpu']);
    } finally {
      client.close();
    }
  });
});

describe("an operator's catalog, raw configurations refused", () => {
  let serve: ServeProcess | undefined;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-usage-catalog-'));
  const catalog = path.join(dataDir, 'configurations.json');
  const http = () => `http://127.0.0.1:${serve!.httpPort}`;

  before(async () => {
    writeFileSync(catalog, JSON.stringify({ configurations: [{ name: 'tiny', description: 'half a core', cpu: 0.5, memory_bytes: 512 * 2 ** 20, units: 0.5 }] }));
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir, '--runtime', 'process',
      '--cluster-id', `usagecat${randomBytes(4).toString('hex')}`, '--configurations', catalog, '--allow-raw-configurations', 'false',
    ]);
  });

  after(() => {
    serve?.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists only the file\'s configurations and refuses a node that gives raw values', async () => {
    const list = await rest(http(), 'GET', '/v1/configurations');
    assert.deepEqual(list.body.configurations.map((c: any) => c.name), ['tiny']);
    assert.equal(list.body.rawAllowed ?? false, false);
    const raw = await rest(http(), 'POST', '/v1/nodes', {
      folderId: 'default',
      name: 'raw',
      spec: { checkpoint: { checkpointId: 'ck0000000000000000000', ...VARIABLES }, configuration: { cpu: 2 } },
    });
    assert.equal(raw.status, 400, JSON.stringify(raw.body));
    assert.deepEqual(restViolations(raw.body), ['node.spec.configuration.name']);
    assert.match(raw.body.message, /only named configurations \(known: tiny\)/);
  });

  it('refuses to start with a catalog file that holds a mistake, naming the entry', async () => {
    const bad = path.join(dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ configurations: [{ name: 'x', cpu: 1, memoryBytes: 2 ** 30, units: 1 }, { name: 'x', cpu: -1, memoryBytes: 2 ** 30, units: 1 }] }));
    await assert.rejects(
      startServe(['--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', path.join(dataDir, 'other'), '--runtime', 'process', '--configurations', bad], {}, 15_000),
      /--configurations .*bad\.json: configurations\[1\]\.name: "x" is given twice; configurations\[1\]\.cpu/,
    );
  });
});
