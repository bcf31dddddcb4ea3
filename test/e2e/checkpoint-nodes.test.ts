/**
 * Checkpoint nodes end to end, as a notebook user meets them: a real `berth
 * serve` process, a real .ipynb captured by the real Python worker, nodes
 * whose instances restore the captured state, and calls over REST, over gRPC
 * (the generic Execute and the node's own typed service, from stubs that
 * protoc generates) — all on loopback. Once with the process runtime, once
 * with the docker runtime and the berth-python system image.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import Dockerode from 'dockerode';
import type { GetNodeApiRequest, NodeExecutionRequest, NodeExecutionResponse } from '../../gen/berth/v1/node_service';
import type { NodeApi } from '../../gen/berth/v1/node';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, grpcViolations, statusDetails, unary } from '../helpers/grpc';
import { rest, restViolations } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';
import { reflect, servicesOf } from '../helpers/reflection';
import { endProcessInstances } from '../helpers/process-instances';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
/** Debian's Python, where python3-grpc-tools is installed (not whatever python3 is first on PATH). */
const SYSTEM_PYTHON = '/usr/bin/python3';
const UNKNOWN_NODE = 'nd000000000000000000';
const DETAILS_TYPE = 'type.googleapis.com/berth.v1.NodeExecutionErrorDetails';
/** The typed API's package: named after the folder ("default", a C++ and Java keyword, hence "_pb") and the node ("price-model"), not the node's id. */
const PACKAGE = 'berth.nodes.default_pb.price_model.v1';

/** The fixture notebook, its training cell writing to `marker`. */
function notebook(marker: string): string {
  const nb = JSON.parse(readFileSync(path.join(FIXTURES, 'price-model.ipynb'), 'utf8'));
  const literal = JSON.stringify(marker).slice(1, -1); // a JSON string body is a valid Python string body here
  for (const cell of nb.cells) {
    if (Array.isArray(cell.source)) cell.source = cell.source.map((line: string) => line.replace('{{MARKER}}', literal));
    else cell.source = cell.source.replace('{{MARKER}}', literal);
  }
  return JSON.stringify(nb, null, 1);
}

function linesOf(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

const INPUTS = [
  { name: 'x', type: 'VARIABLE_TYPE_FLOAT' },
  { name: 'name', type: 'VARIABLE_TYPE_STR' },
];
const OUTPUTS = [
  { name: 'y', type: 'VARIABLE_TYPE_FLOAT' },
  { name: 'label', type: 'VARIABLE_TYPE_STR' },
  { name: 'counter', type: 'VARIABLE_TYPE_INT' },
  { name: 'instance', type: 'VARIABLE_TYPE_STR' },
];

const nodeBody = (checkpointId: string, min: number) => ({
  folderId: 'default',
  name: 'price-model',
  spec: {
    checkpoint: { checkpointId, inputVariables: INPUTS, outputVariables: OUTPUTS },
    instanceRange: { min, max: min },
  },
});

/** One running `berth serve` and what the tests of one runtime share. */
class Berth {
  serve!: ServeProcess;
  http = '';
  grpcAddress = '';
  rpc!: ReturnType<typeof clients>;

  async start(args: string[]): Promise<void> {
    this.serve = await startServe(args);
    this.http = `http://127.0.0.1:${this.serve.httpPort}`;
    this.grpcAddress = `127.0.0.1:${this.serve.grpcPort}`;
    this.rpc = clients(this.grpcAddress);
  }

  async stop(): Promise<void> {
    this.rpc?.close();
    this.serve?.proc.kill('SIGKILL');
    if (this.serve) await this.serve.exited;
  }

  /** Waits for an Operation (the REST way) and returns it done. */
  async wait(operationId: string, timeout = '60s'): Promise<any> {
    const op = await rest(this.http, 'POST', `/v1/operations/${operationId}:wait`, { timeout });
    assert.equal(op.status, 200, JSON.stringify(op.body));
    assert.equal(op.body.done, true, `operation ${operationId} is not done: ${JSON.stringify(op.body)}`);
    return op.body;
  }

  async capture(body: unknown): Promise<any> {
    const created = await rest(this.http, 'POST', '/v1/checkpoints', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return this.wait(created.body.id);
  }

  async createNode(body: unknown): Promise<any> {
    const created = await rest(this.http, 'POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    return this.wait(created.body.id);
  }

  async deleteNode(nodeId: string): Promise<void> {
    const del = await rest(this.http, 'DELETE', `/v1/nodes/${nodeId}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const done = await this.wait(del.body.id, '30s');
    assert.equal(done.error, undefined, JSON.stringify(done.error));
  }

  async instances(nodeId: string): Promise<any[]> {
    const res = await rest(this.http, 'GET', `/v1/nodes/${nodeId}/instances`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.instances ?? [];
  }

  /** REST Execute; returns the outputs of a call that must succeed. */
  async execute(nodeId: string, input: Record<string, unknown>): Promise<any> {
    const res = await rest(this.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.output;
  }

  grpcExecute(nodeId: string, input: Record<string, unknown>): Promise<NodeExecutionResponse> {
    return unary<Partial<NodeExecutionRequest>, NodeExecutionResponse>(this.rpc.nodes, 'execute', { folderId: 'default', nodeId, input });
  }

  /** The gRPC error of a call that must fail. */
  async grpcFailure(nodeId: string, input: Record<string, unknown>): Promise<grpc.ServiceError> {
    try {
      const res = await this.grpcExecute(nodeId, input);
      assert.fail(`the call succeeded: ${JSON.stringify(res)}`);
    } catch (err) {
      if ((err as grpc.ServiceError).code === undefined) throw err;
      return err as grpc.ServiceError;
    }
  }
}

/**
 * Captures the fixture notebook and checks the checkpoint; returns it.
 * `markerOnHost`: the capture runs on this host (process runtime), so the
 * training cell's marker is a file here.
 */
async function captureFixture(b: Berth, marker: string, markerOnHost = true): Promise<any> {
  const op = await b.capture({ folderId: 'default', name: 'demo', notebook: notebook(marker), servedCellIndex: 2 });
  assert.equal(op.error, undefined, JSON.stringify(op.error));
  const cp = op.response;
  assert.equal(cp['@type'], 'type.googleapis.com/berth.v1.Checkpoint');
  assert.equal(cp.state, 'CHECKPOINT_STATE_READY');
  assert.equal(cp.name, 'demo');
  // Markdown cells do not count: three code cells, the third one served.
  assert.equal(cp.cellSources.length, 3);
  assert.equal(cp.servedCellIndex, 2);
  assert.match(cp.cellSources[2], /^y = predict\(x\)\ncounter \+= 1\n/);
  assert.match(cp.digest, /^sha256:[0-9a-f]{64}$/);
  assert.ok(Number(cp.sizeBytes) > 0);
  assert.match(cp.pythonVersion, /^3\.\d+\.\d+/);
  const kinds = Object.fromEntries((cp.variables as any[]).map((v) => [v.name, `${v.kind}:${v.typeName}`]));
  assert.equal(kinds.weights, 'CAPTURED_VARIABLE_KIND_VALUE:dict');
  assert.equal(kinds.counter, 'CAPTURED_VARIABLE_KIND_VALUE:int');
  assert.equal(kinds.data, 'CAPTURED_VARIABLE_KIND_VALUE:list');
  assert.equal(kinds.predict, 'CAPTURED_VARIABLE_KIND_DEFINITION:function');
  assert.equal(kinds.time, 'CAPTURED_VARIABLE_KIND_MODULE:time');
  assert.equal(kinds.os, 'CAPTURED_VARIABLE_KIND_MODULE:os');
  // The served cell was compiled, not run: the call inputs and outputs are not globals yet.
  for (const name of ['x', 'name', 'y', 'label']) assert.equal(kinds[name], undefined, `${name} was captured`);
  // The closed file left by `with open(...) as f` is not captured.
  assert.equal(kinds.f, undefined);
  if (markerOnHost) assert.deepEqual(linesOf(marker), ['trained'], 'the training cell ran once, during the capture');

  const got = await rest(b.http, 'GET', `/v1/checkpoints/${cp.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.body.digest, cp.digest);
  assert.equal(got.body.state, 'CHECKPOINT_STATE_READY');
  return cp;
}

/** Creates the node with `min` instances and checks it is Healthy with all of them healthy. */
async function startNode(b: Berth, checkpointId: string, min: number): Promise<{ nodeId: string; instances: any[] }> {
  const op = await b.createNode(nodeBody(checkpointId, min));
  assert.equal(op.error, undefined, JSON.stringify(op.error));
  assert.equal(op.response['@type'], 'type.googleapis.com/berth.v1.Node');
  assert.equal(op.response.status.state, 'NODE_STATE_HEALTHY');
  const nodeId = op.resourceId as string;
  const instances = await b.instances(nodeId);
  assert.equal(instances.length, min);
  for (const i of instances) assert.equal(i.state, 'INSTANCE_STATE_HEALTHY', JSON.stringify(i));
  return { nodeId, instances };
}

/**
 * Makes `pairs` rounds of two concurrent REST calls and checks that each
 * instance counts its own calls 1, 2, 3…; returns the counter values by instance.
 */
async function countCalls(b: Berth, nodeId: string, pairs: number, from: Record<string, number> = {}): Promise<Map<string, number[]>> {
  const seen = new Map<string, number[]>();
  for (let round = 0; round < pairs; round++) {
    const outs = await Promise.all([b.execute(nodeId, { x: round, name: `r${round}a` }), b.execute(nodeId, { x: round, name: `r${round}b` })]);
    for (const out of outs) {
      assert.equal(out.y, 2 * round + 1);
      assert.equal(typeof out.counter, 'number');
      seen.set(out.instance, [...(seen.get(out.instance) ?? []), out.counter]);
    }
  }
  let total = 0;
  for (const [instance, values] of seen) {
    const sorted = [...values].sort((a, c) => a - c);
    const start = (from[instance] ?? 0) + 1;
    assert.deepEqual(sorted, Array.from({ length: values.length }, (_, k) => start + k), `instance ${instance} counted ${values.join(', ')}`);
    total += values.length;
  }
  assert.equal(total, pairs * 2);
  return seen;
}

/** Checks the answer to a cell that raised: the error details and a traceback through both cells. */
function assertUserError(details: any): void {
  assert.equal(details.errorName, 'ValueError');
  assert.equal(details.errorMessage, 'negative');
  const tb = (details.traceback as string[]).join('\n');
  assert.match(tb, /File "<cell 2>", line 1/, tb);
  assert.match(tb, /File "<cell 1>", line 6, in predict/, tb);
  assert.match(tb, /raise ValueError\("negative"\)/, tb);
  assert.match(tb, /ValueError: negative$/, tb);
}

async function checkUserError(b: Berth, nodeId: string): Promise<void> {
  const res = await rest(b.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: -1, name: 'neg' } });
  assert.equal(res.status, 409, JSON.stringify(res.body));
  assert.equal(res.body.code, grpc.status.ABORTED);
  const detail = (res.body.details ?? []).find((d: any) => d['@type'] === DETAILS_TYPE);
  assert.ok(detail, `no NodeExecutionErrorDetails in ${JSON.stringify(res.body)}`);
  assertUserError(detail);

  const err = await b.grpcFailure(nodeId, { x: -2, name: 'neg' });
  assert.equal(err.code, grpc.status.ABORTED, err.message);
  const gdetail = statusDetails(err).find((d) => d.typeName === 'berth.v1.NodeExecutionErrorDetails');
  assert.ok(gdetail, `no NodeExecutionErrorDetails in ${err.message}`);
  assertUserError(gdetail.value);
}

describe('checkpoint nodes on the process runtime', () => {
  const b = new Berth();
  const clusterId = `cpp${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-e2e-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-work-'));
  const marker = path.join(work, 'trained.txt');
  const LIMIT = 1024 * 1024;
  let checkpoint: any;
  let nodeId = '';
  let instanceIds: string[] = [];
  /** Counter values so far, by instance. */
  const counted: Record<string, number> = {};

  before(async () => {
    await b.start([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'process', '--cluster-id', clusterId,
      '--max-message-bytes', String(LIMIT), '--resync-ms', '1000', '--startup-timeout-ms', '30000',
    ]);
  });

  after(async () => {
    await b.stop();
    endProcessInstances(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('captures an .ipynb once: the checkpoint is ready and lists the captured globals', async () => {
    checkpoint = await captureFixture(b, marker);
  });

  it('starts two healthy instances that restore the state without re-running the training', async () => {
    const started = await startNode(b, checkpoint.id, 2);
    nodeId = started.nodeId;
    instanceIds = started.instances.map((i) => i.id).sort();
    for (const i of started.instances) assert.match(i.address, /^127\.0\.0\.1:\d+$/);
    const node = await rest(b.http, 'GET', `/v1/nodes/${nodeId}`);
    assert.equal(node.body.status.instanceCounts.healthy, 2);
    assert.deepEqual(linesOf(marker), ['trained'], 'no instance re-ran the training cell');
  });

  it('keeps state per instance: each one counts its own calls from 1', async () => {
    const seen = await countCalls(b, nodeId, 10);
    assert.deepEqual([...seen.keys()].sort(), instanceIds, 'calls reach both instances');
    for (const [instance, values] of seen) {
      counted[instance] = Math.max(...values);
      assert.ok(counted[instance]! <= 20);
    }
  });

  it('answers REST and gRPC Execute with the declared outputs', async () => {
    const out = await b.execute(nodeId, { x: 2, name: 'q' });
    assert.deepEqual(Object.keys(out).sort(), ['counter', 'instance', 'label', 'y']);
    assert.equal(out.y, 5);
    assert.equal(out.label, 'Q');
    assert.equal(out.counter, counted[out.instance]! + 1);
    counted[out.instance] = out.counter;

    const res = await b.grpcExecute(nodeId, { x: 2.5, name: 'grpc call' });
    assert.equal(res.output?.y, 6);
    assert.equal(res.output?.label, 'GRPC CALL');
    assert.ok(instanceIds.includes(res.output?.instance));
    assert.equal(res.output?.counter, counted[res.output?.instance]! + 1);
    counted[res.output?.instance] = res.output?.counter;
    assert.deepEqual(linesOf(marker), ['trained']);
  });

  it('answers an exception in the cell with 409 / ABORTED and its traceback, and the instance serves on', async () => {
    await checkUserError(b, nodeId);
    // The cell raised before `counter += 1`: the next calls continue each instance's count.
    await countCalls(b, nodeId, 2, counted).then((seen) => {
      for (const [instance, values] of seen) counted[instance] = Math.max(...values);
    });
    const list = await b.instances(nodeId);
    assert.deepEqual(list.map((i) => i.id).sort(), instanceIds);
    for (const i of list) {
      assert.equal(i.state, 'INSTANCE_STATE_HEALTHY');
      assert.equal(i.restartCount ?? 0, 0);
    }
  });

  it('refuses bad inputs naming the field, unknown nodes and requests over the size limit', async () => {
    const bad = async (input: Record<string, unknown>, field: string) => {
      const res = await rest(b.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, grpc.status.INVALID_ARGUMENT);
      assert.deepEqual(restViolations(res.body), [field], JSON.stringify(res.body));
    };
    await bad({ x: 'two', name: 'q' }, 'input.x');
    await bad({ name: 'q' }, 'input.x');
    await bad({ x: 1, name: 'q', z: 3 }, 'input.z');
    await bad({ x: 1, name: 7 }, 'input.name');
    const wrongType = await b.grpcFailure(nodeId, { x: true, name: 'q' });
    assert.equal(wrongType.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(grpcViolations(wrongType), ['input.x']);
    const missing = await b.grpcFailure(nodeId, { x: 1 });
    assert.equal(missing.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(grpcViolations(missing), ['input.name']);

    const unknown = await rest(b.http, 'POST', `/v1/nodes/${UNKNOWN_NODE}:execute`, { input: { x: 1, name: 'q' } });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const unknownGrpc = await b.grpcFailure(UNKNOWN_NODE, { x: 1, name: 'q' });
    assert.equal(unknownGrpc.code, grpc.status.NOT_FOUND);
    assert.equal((await rest(b.http, 'GET', `/v1/nodes/${UNKNOWN_NODE}/api.proto`)).status, 404);
    assert.equal((await rest(b.http, 'POST', `/v1/nodes/${UNKNOWN_NODE}/api:execute`, { x: 1, name: 'q' })).status, 404);

    const big = 'a'.repeat(LIMIT + 1024);
    const tooLarge = await rest(b.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: { x: 1, name: big } });
    assert.equal(tooLarge.status, 413, JSON.stringify(tooLarge.body).slice(0, 500));
    assert.equal(tooLarge.body.code, grpc.status.RESOURCE_EXHAUSTED);
    const tooLargeTyped = await rest(b.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: 1, name: big });
    assert.equal(tooLargeTyped.status, 413, JSON.stringify(tooLargeTyped.body).slice(0, 500));
    const tooLargeGrpc = await b.grpcFailure(nodeId, { x: 1, name: big });
    assert.equal(tooLargeGrpc.code, grpc.status.RESOURCE_EXHAUSTED, tooLargeGrpc.message);

    // None of that reached an instance or harmed the next call.
    const out = await b.execute(nodeId, { x: 3, name: 'ok' });
    assert.equal(out.y, 7);
    assert.equal(out.counter, counted[out.instance]! + 1);
    counted[out.instance] = out.counter;
  });

  it('serves the typed API: its .proto over REST and GetNodeApi, an OpenAPI 3 document and the typed REST route', async () => {
    const protoRes = await fetch(`${b.http}/v1/nodes/${nodeId}/api.proto`);
    assert.equal(protoRes.status, 200);
    assert.match(protoRes.headers.get('content-type') ?? '', /^text\/plain/);
    const proto = await protoRes.text();
    assert.match(proto, /syntax = "proto3";/);
    assert.ok(proto.includes(`package ${PACKAGE};`), proto);
    assert.ok(proto.includes('service PriceModelService {'), proto);
    assert.ok(proto.includes('rpc Execute(ExecuteRequest) returns (ExecuteResponse);'), proto);
    for (const field of ['double x = 1;', 'string name = 2;', 'double y = 1;', 'string label = 2;', 'int64 counter = 3;', 'string instance = 4;'])
      assert.ok(proto.includes(field), `${field} is missing:\n${proto}`);

    const api = await unary<Partial<GetNodeApiRequest>, NodeApi>(b.rpc.nodes, 'getNodeApi', { nodeId });
    assert.equal(api.protoFile, proto);
    assert.equal(api.package, PACKAGE);
    assert.equal(api.service, `${PACKAGE}.PriceModelService`);

    const openapi = await rest(b.http, 'GET', `/v1/nodes/${nodeId}/openapi.json`);
    assert.equal(openapi.status, 200);
    const doc = openapi.body;
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(JSON.parse(api.openapiJson), doc);
    const post = doc.paths[`/v1/nodes/${nodeId}/api:execute`].post;
    assert.ok(post.requestBody && post.responses['200'] && post.responses['409'] && post.responses['413']);
    const schemas = doc.components.schemas;
    assert.equal(schemas.Inputs.properties.x.type, 'number');
    assert.equal(schemas.Inputs.properties.name.type, 'string');
    // protobuf JSON: a request may leave fields out (their defaults), a response has them all; int64 is a string.
    assert.equal(schemas.Inputs.required, undefined);
    assert.deepEqual([...schemas.Outputs.required].sort(), ['counter', 'instance', 'label', 'y']);
    assert.equal(schemas.Outputs.properties.y.type, 'number');
    assert.equal(schemas.Outputs.properties.label.type, 'string');
    assert.deepEqual([schemas.Outputs.properties.counter.type, schemas.Outputs.properties.counter.format], ['string', 'int64']);
    assert.equal(schemas.Outputs.properties.instance.type, 'string');

    // As curl would, following the document: the inputs as a plain JSON body.
    const typed = await rest(b.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, '{"x": 2, "name": "q"}');
    assert.equal(typed.status, 200, JSON.stringify(typed.body));
    assert.equal(typed.body.y, 5);
    assert.equal(typed.body.label, 'Q');
    // int64 in protobuf JSON: a decimal string.
    assert.equal(typed.body.counter, String(counted[typed.body.instance]! + 1));
    counted[typed.body.instance] = Number(typed.body.counter);
    const typedBad = await rest(b.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: 'two', name: 'q' });
    assert.equal(typedBad.status, 400);
    assert.deepEqual(restViolations(typedBad.body), ['input.x']);
    const typedRaise = await rest(b.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: -1, name: 'q' });
    assert.equal(typedRaise.status, 409);
    assertUserError(typedRaise.body.details.find((d: any) => d['@type'] === DETAILS_TYPE));
  });

  it('lists the typed service through server reflection, with its typed fields', async () => {
    const service = `${PACKAGE}.PriceModelService`;
    const [listed, described] = await reflect(b.grpcAddress, [{ list_services: '' }, { file_containing_symbol: service }]);
    const services = servicesOf(listed);
    assert.ok(services.includes(service), `${service} is not listed: ${services.join(', ')}`);
    assert.ok(services.includes('berth.v1.NodeService'));
    const files = (described.file_descriptor_response.file_descriptor_proto as Buffer[]).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    const file = files.find((f) => f.package === PACKAGE);
    assert.ok(file, `no file of package ${PACKAGE}: ${files.map((f) => f.name).join(', ')}`);
    assert.equal(file.name, 'berth/nodes/default_pb/price_model/v1/api.proto');
    assert.deepEqual(file.service.map((s) => s.name), ['PriceModelService']);
    assert.deepEqual(file.service[0]!.method.map((m) => [m.name, m.inputType, m.outputType]), [
      ['Execute', `.${PACKAGE}.ExecuteRequest`, `.${PACKAGE}.ExecuteResponse`],
    ]);
    const request = file.messageType.find((m) => m.name === 'ExecuteRequest')!;
    assert.deepEqual(
      request.field.map((f) => [f.name, f.number, f.type]),
      [
        ['x', 1, FieldDescriptorProto_Type.DOUBLE],
        ['name', 2, FieldDescriptorProto_Type.STRING],
      ],
    );
    const response = file.messageType.find((m) => m.name === 'ExecuteResponse')!;
    assert.deepEqual(
      response.field.map((f) => [f.name, f.number, f.type]),
      [
        ['y', 1, FieldDescriptorProto_Type.DOUBLE],
        ['label', 2, FieldDescriptorProto_Type.STRING],
        ['counter', 3, FieldDescriptorProto_Type.INT64],
        ['instance', 4, FieldDescriptorProto_Type.STRING],
      ],
    );
  });

  it("answers a Python client whose stubs protoc generated from the node's .proto", async (t) => {
    try {
      await run(SYSTEM_PYTHON, ['-c', 'import grpc, grpc_tools.protoc']);
    } catch (err) {
      const why = `${SYSTEM_PYTHON} cannot import grpc_tools (install python3-grpc-tools): ${(err as Error).message.split('\n')[0]}`;
      if (process.env.BERTH_REQUIRE_DOCKER === '1') assert.fail(why);
      console.warn(`\n*** SKIPPING the protoc-generated Python client: ${why} ***\n`);
      return t.skip(why);
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-stubs-'));
    try {
      const proto = await (await fetch(`${b.http}/v1/nodes/${nodeId}/api.proto`)).text();
      writeFileSync(path.join(dir, 'price_model.proto'), proto);
      await run(SYSTEM_PYTHON, ['-m', 'grpc_tools.protoc', '-I', dir, `--python_out=${dir}`, `--grpc_python_out=${dir}`, path.join(dir, 'price_model.proto')], {
        timeout: 60_000,
      });
      assert.ok(existsSync(path.join(dir, 'price_model_pb2.py')) && existsSync(path.join(dir, 'price_model_pb2_grpc.py')), readdirSync(dir).join(', '));
      const { stdout } = await run(
        SYSTEM_PYTHON,
        [path.join(FIXTURES, 'typed_client.py'), dir, 'price_model', 'PriceModelService', b.grpcAddress, '4', 'from python', '-1'],
        { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } },
      );
      const answer = JSON.parse(stdout.trim().split('\n').pop()!);
      assert.equal(answer.fields.y, 9);
      assert.equal(answer.fields.label, 'FROM PYTHON');
      assert.ok(instanceIds.includes(answer.fields.instance));
      assert.equal(answer.fields.counter, counted[answer.fields.instance]! + 1);
      counted[answer.fields.instance] = answer.fields.counter;
      assert.deepEqual(answer.types, { y: 'float', label: 'str', counter: 'int', instance: 'str' });
      assert.equal(answer.refused?.code, 'ABORTED', JSON.stringify(answer.refused));
      assert.match(answer.refused.details, /ValueError: negative/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts over from the checkpoint when the node is deleted and created again', async () => {
    const old = nodeId;
    await b.deleteNode(old);
    assert.equal((await rest(b.http, 'GET', `/v1/nodes/${old}`)).status, 404);
    assert.equal((await rest(b.http, 'POST', `/v1/nodes/${old}:execute`, { input: { x: 1, name: 'q' } })).status, 404);
    assert.equal((await rest(b.http, 'GET', `/v1/nodes/${old}/api.proto`)).status, 404);

    const again = await startNode(b, checkpoint.id, 2);
    assert.notEqual(again.nodeId, old);
    nodeId = again.nodeId;
    // The new node has the old one's typed API (the same folder and name), so stubs keep working.
    const api = await unary<Partial<GetNodeApiRequest>, NodeApi>(b.rpc.nodes, 'getNodeApi', { nodeId });
    assert.equal(api.service, `${PACKAGE}.PriceModelService`);
    await waitFor('reflection to list the typed service again', async () => {
      const services = servicesOf((await reflect(b.grpcAddress, [{ list_services: '' }]))[0]);
      return services.includes(`${PACKAGE}.PriceModelService`);
    });
    const seen = await countCalls(b, nodeId, 3);
    for (const values of seen.values()) assert.ok(values.includes(1), 'each instance starts counting at 1 again');
    assert.deepEqual(linesOf(marker), ['trained'], 'recreating the node did not re-run the training either');
  });

  it('fails the capture of a notebook holding an open socket, naming the variable and its type', async () => {
    const op = await b.capture({
      folderId: 'default',
      name: 'with-socket',
      cells: { cells: ['import socket\nconn = socket.socket()', 'y = 1'] },
      servedCellIndex: 1,
    });
    assert.ok(op.error, `the capture succeeded: ${JSON.stringify(op.response)}`);
    assert.equal(op.response, undefined);
    assert.notEqual(op.error.code, grpc.status.OK);
    assert.match(op.error.message, /\bconn\b/);
    assert.match(op.error.message, /socket/);
    const cp = await rest(b.http, 'GET', `/v1/checkpoints/${op.resourceId}`);
    if (cp.status === 200) assert.equal(cp.body.state, 'CHECKPOINT_STATE_FAILED');
  });
});

describe('checkpoint nodes on the docker runtime', () => {
  const b = new Berth();
  const clusterId = `cpd${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-e2e-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'berth-cp-work-'));
  // The capture runs in a container of the system image: the marker is a file there, not here.
  const marker = '/tmp/berth-trained.txt';
  let skip = false;
  let image = '';
  let checkpoint: any;
  let nodeId = '';
  let instances: any[] = [];

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'build-system-image.sh')], { cwd: ROOT, timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const m = /^BERTH_SYSTEM_IMAGE=(\S+)$/m.exec(stdout);
    assert.ok(m, `build-system-image.sh printed no BERTH_SYSTEM_IMAGE line: ${stdout}`);
    image = m[1]!;
    await b.start([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
      '--system-image', image, '--pull-images', 'false', '--resync-ms', '1000', '--startup-timeout-ms', '60000',
    ]);
  });

  after(async () => {
    await b.stop();
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('captures the notebook and runs two healthy instances in containers of the system image', async (t) => {
    if (skip) return t.skip('no Docker engine');
    checkpoint = await captureFixture(b, marker, false);
    assert.equal(checkpoint.environmentImage, image);
    const started = await startNode(b, checkpoint.id, 2);
    nodeId = started.nodeId;
    instances = started.instances;

    const docker = new Dockerode();
    for (const instance of instances) {
      // Training never ran in an instance: it would have left the marker.
      await assert.rejects(docker.getContainer(instance.runtimeId).infoArchive({ path: marker }), (err: any) => err.statusCode === 404);
      const info = await docker.getContainer(instance.runtimeId).inspect();
      assert.equal(info.Config.Image, image);
      assert.equal(info.State.Running, true);
      assert.equal(info.Config.Labels['berth.node_id'], nodeId);
      assert.equal(info.Config.Labels['berth.run_id'], clusterId);
      assert.equal(info.HostConfig.Privileged, false);
      const blob = info.Mounts.find((mnt) => mnt.Destination === '/berth/checkpoint.blob');
      assert.ok(blob, `no blob mount: ${JSON.stringify(info.Mounts)}`);
      assert.equal(blob.Type, 'bind');
      assert.equal(blob.RW, false, 'the blob is mounted read-only');
      assert.ok(blob.Source.startsWith(dataDir), `${blob.Source} is not under ${dataDir}`);
      assert.ok(blob.Source.endsWith(checkpoint.digest.replace('sha256:', '')), blob.Source);
      for (const bindings of Object.values(info.HostConfig.PortBindings ?? {})) for (const pb of bindings as any[]) assert.equal(pb.HostIp, '127.0.0.1');
    }
  });

  it('answers REST and gRPC Execute from the containers, per-instance state and user errors included', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const ids = instances.map((i) => i.id).sort();
    const seen = await countCalls(b, nodeId, 8);
    assert.deepEqual([...seen.keys()].sort(), ids, 'calls reach both containers');
    const counted: Record<string, number> = {};
    for (const [instance, values] of seen) counted[instance] = Math.max(...values);

    const out = await b.execute(nodeId, { x: 2, name: 'q' });
    assert.equal(out.y, 5);
    assert.equal(out.label, 'Q');
    assert.equal(out.counter, counted[out.instance]! + 1);
    counted[out.instance] = out.counter;
    const res = await b.grpcExecute(nodeId, { x: 2.5, name: 'grpc call' });
    assert.equal(res.output?.y, 6);
    assert.equal(res.output?.label, 'GRPC CALL');
    assert.equal(res.output?.counter, counted[res.output?.instance]! + 1);

    await checkUserError(b, nodeId);
    const after = await b.execute(nodeId, { x: 0, name: 'after' });
    assert.equal(after.y, 1);
    const typed = await rest(b.http, 'POST', `/v1/nodes/${nodeId}/api:execute`, { x: 1, name: 'typed' });
    assert.equal(typed.status, 200, JSON.stringify(typed.body));
    assert.equal(typed.body.y, 3);
    const list = await b.instances(nodeId);
    assert.deepEqual(list.map((i) => i.runtimeId).sort(), instances.map((i) => i.runtimeId).sort(), 'no container was replaced');
  });

  it("answers only Berth on a worker's port, and mounts neither the Docker socket nor the data dir", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const docker = new Dockerode();
    for (const instance of instances) {
      const direct = await fetch(`http://${instance.address}/execute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { x: 1, name: 'direct' }, input_types: { x: 'float', name: 'str' }, outputs: [{ name: 'y', type: 'float' }] }),
      });
      assert.equal(direct.status, 401, await direct.text());
      const info = await docker.getContainer(instance.runtimeId).inspect();
      const sources = [...(info.HostConfig.Binds ?? []).map((bind) => bind.split(':')[0]!), ...(info.HostConfig.Mounts ?? []).map((m) => m.Source ?? ''), ...info.Mounts.map((m) => m.Source ?? '')];
      assert.ok(sources.length > 0);
      for (const source of sources) {
        assert.doesNotMatch(source, /docker\.sock/, `the Docker socket is mounted: ${source}`);
        // Only its own checkpoint blob (a file) comes from the data dir, never the directory or a parent of it.
        assert.ok(!dataDir.startsWith(source), `the data dir is visible through ${source}`);
        assert.ok(statSync(source).isFile(), `${source} is not a file`);
      }
      assert.equal((info.Config.Env ?? []).filter((e) => e.startsWith('BERTH_WORKER_TOKEN=')).length, 1);
      assert.equal(info.HostConfig.Privileged, false);
    }
  });

  it('removes the containers when the node is deleted', async (t) => {
    if (skip) return t.skip('no Docker engine');
    await b.deleteNode(nodeId);
    const docker = new Dockerode();
    const left = await docker.listContainers({ all: true, filters: { label: [`berth.node_id=${nodeId}`] } });
    assert.deepEqual(left.map((c) => c.Names), []);
  });
});
