/**
 * Under the docker runtime a checkpoint is captured where its instances run:
 * in a container of its environment image (here the system image, with
 * scikit-learn), never in Berth's --python (here a path that does not exist).
 * The checkpoint records the image, its id, the Python and the versions of
 * the packages its state needs; a node whose environment cannot restore it
 * (an image without scikit-learn, an image without Python) is refused with
 * FAILED_PRECONDITION naming both environments.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ServiceError } from '@grpc/grpc-js';
import Dockerode from 'dockerode';
import { Checkpoint } from '../../gen/berth/v1/checkpoint';
import { VariableType } from '../../gen/berth/v1/node';
import { CreateNodeRequest } from '../../gen/berth/v1/node_service';
import type { Operation } from '../../gen/berth/v1/operation';
import { CAPTURE_LABEL } from '../../src/runtime/docker/capture-container';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';
import { waitFor } from '../helpers/wait';
import { buildSystemImage, buildTestImages } from '../images/test-images';

const run = promisify(execFile);
const MARKER = '/tmp/berth-trained.marker';

/** An nbformat 4 notebook: training an iris classifier, a markdown cell, the served prediction. */
const NOTEBOOK = JSON.stringify({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    {
      cell_type: 'code',
      metadata: {},
      outputs: [],
      execution_count: 1,
      source: [
        'import os, secrets, time\n',
        'from sklearn.datasets import load_iris\n',
        'from sklearn.linear_model import LogisticRegression\n',
        'from sklearn.pipeline import make_pipeline\n',
        'from sklearn.preprocessing import StandardScaler\n',
        'X, target = load_iris(return_X_y=True)\n',
        'model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, target)\n',
        'trained_at = time.time()\n',
        'token = secrets.token_hex(8)\n',
        `with open(${JSON.stringify(MARKER)}, "w") as f:\n`,
        '    f.write(token)\n',
      ],
    },
    { cell_type: 'markdown', metadata: {}, source: 'Serving: one flower in, its class out.' },
    {
      cell_type: 'code',
      metadata: {},
      outputs: [],
      execution_count: 2,
      source: 'label = int(model.predict([[sepal_length, sepal_width, petal_length, petal_width]])[0])\ninstance = os.environ["BERTH_INSTANCE_ID"]\n',
    },
  ],
});

const FLOAT = 'VARIABLE_TYPE_FLOAT';
const nodeBody = (checkpointId: string, name: string, environmentImage = '') => ({
  folderId: 'default',
  name,
  spec: {
    checkpoint: {
      checkpointId,
      environmentImage,
      inputVariables: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].map((n) => ({ name: n, type: FLOAT })),
      outputVariables: [
        { name: 'label', type: 'VARIABLE_TYPE_INT' },
        { name: 'token', type: 'VARIABLE_TYPE_STR' },
        { name: 'trained_at', type: FLOAT },
        { name: 'instance', type: 'VARIABLE_TYPE_STR' },
      ],
    },
    instanceRange: { min: 2, max: 2 },
  },
});

/** Rows of sklearn's iris data set and their classes. */
const IRIS = [
  { input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }, label: 0 },
  { input: { sepal_length: 7.0, sepal_width: 3.2, petal_length: 4.7, petal_width: 1.4 }, label: 1 },
  { input: { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6.0, petal_width: 2.5 }, label: 2 },
];

/** Builds `FROM base` with the given steps, tagged and labelled for this run. */
async function buildFrom(base: string, tag: string, clusterId: string, steps: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn('docker', ['build', '-q', '--label', `berth.run_id=${clusterId}`, '-t', tag, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker build ${tag} failed: ${err}`))));
    p.stdin.end(`FROM ${base}\n${steps}\n`);
  });
}

describe('capture in the environment image (docker runtime)', () => {
  const clusterId = `cap${randomBytes(4).toString('hex')}`;
  const noSklearn = `berth-test-no-sklearn:${clusterId}`;
  const docker = new Dockerode();
  let t: TestBerth | undefined;
  let rpc: ReturnType<typeof clients>;
  let systemImage = '';
  let noPython = '';
  let checkpoint: any;
  let irisNode = '';

  before(async () => {
    assert.ok(await dockerAvailable(), 'a Docker engine is needed');
    systemImage = await buildSystemImage();
    noPython = (await buildTestImages()).http;
    // The system image without scikit-learn: the same Python, a package missing.
    await buildFrom(systemImage, noSklearn, clusterId, 'USER root\nRUN rm -rf /usr/lib/python3/dist-packages/sklearn /usr/lib/python3/dist-packages/scikit_learn-*\nUSER 10001:10001');
    t = await startTestBerth('sqlite', {
      runtime: 'docker',
      clusterId,
      systemImage,
      // Capture must not use Berth's Python: there is none here.
      python: '/nonexistent/bin/python3',
      startupTimeoutMs: 60_000,
    });
    rpc = clients(t!.grpc);
  });

  after(async () => {
    rpc?.close();
    await t?.close();
    await removeByClusterId(clusterId);
    await docker.getImage(noSklearn).remove({ force: true }).catch(() => undefined);
  });

  it("captures a scikit-learn notebook in the system image, not in Berth's Python, serving the last cell by default", async () => {
    // The host's Python could not have run it either.
    await assert.rejects(run('python3', ['-c', 'import sklearn']));
    const created = await rest(t!.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'iris', notebook: NOTEBOOK });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const waited = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '300s' });
    assert.equal(waited.status, 200, JSON.stringify(waited.body));
    assert.equal(waited.body.done, true);
    assert.equal(waited.body.error, undefined, JSON.stringify(waited.body.error));
    checkpoint = waited.body.response;
    assert.equal(checkpoint['@type'], 'type.googleapis.com/berth.v1.Checkpoint');
    assert.equal(checkpoint.state, 'CHECKPOINT_STATE_READY');
    // served_cell_index unset: the last code cell (the markdown cell does not count).
    assert.equal(checkpoint.servedCellIndex, 1);
    const names = (checkpoint.variables as any[]).map((v) => v.name).sort();
    for (const n of ['model', 'token', 'trained_at', 'target', 'X', 'os']) assert.ok(names.includes(n), `${n} not in ${names.join(', ')}`);
    assert.equal(checkpoint.environmentImage, systemImage);
    assert.equal(checkpoint.environmentImageId, (await docker.getImage(systemImage).inspect()).Id);
    assert.match(checkpoint.environmentImageId, /^sha256:[0-9a-f]{64}$/);
    assert.match(checkpoint.pythonVersion, /^3\.\d+\.\d+$/);
    assert.match(checkpoint.moduleVersions['scikit-learn'] ?? '', /^\d+\.\d+/, JSON.stringify(checkpoint.moduleVersions));
    assert.match(checkpoint.moduleVersions.numpy ?? '', /^\d+\.\d+/, JSON.stringify(checkpoint.moduleVersions));
    assert.equal(checkpoint.moduleVersions.os, undefined, 'the standard library is left out');

    // A gRPC caller waiting on the operation sees the same checkpoint in it.
    const op = await unary<any, Operation>(rpc.operations, 'waitOperation', { operationId: created.body.id });
    assert.equal(op.response?.typeUrl, 'type.googleapis.com/berth.v1.Checkpoint');
    const decoded = Checkpoint.decode(op.response!.value);
    assert.equal(decoded.servedCellIndex, 1);
    assert.deepEqual(decoded.variables.map((v) => v.name).sort(), names);
    assert.equal(decoded.moduleVersions['scikit-learn'], checkpoint.moduleVersions['scikit-learn']);

    // The capture container is gone.
    const left = await docker.listContainers({ all: true, filters: { label: [CAPTURE_LABEL, `berth.run_id=${clusterId}`] } });
    assert.deepEqual(left.map((c) => c.Names), []);
  });

  it('restores the trained model in two instances without training again', async () => {
    assert.ok(checkpoint, 'the capture ran');
    const created = await rest(t!.http, 'POST', '/v1/nodes', nodeBody(checkpoint.id, 'iris'));
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '120s' });
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    assert.equal(op.body.response.status.state, 'NODE_STATE_HEALTHY');
    const nodeId = op.body.resourceId as string;
    irisNode = nodeId;
    const instances = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances as any[];
    assert.equal(instances.length, 2);

    const seen = new Map<string, { token: string; trainedAt: number }>();
    for (let round = 0; round < 20 && seen.size < 2; round++) {
      const calls = await Promise.all(IRIS.map((row) => rest(t!.http, 'POST', `/v1/nodes/${nodeId}:execute`, { input: row.input })));
      calls.forEach((res, i) => {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.output.label, IRIS[i]!.label, `row ${i}`);
        seen.set(res.body.output.instance, { token: res.body.output.token, trainedAt: res.body.output.trained_at });
      });
    }
    assert.deepEqual([...seen.keys()].sort(), instances.map((i) => i.id).sort(), 'calls reached both instances');
    const [a, b] = [...seen.values()];
    assert.match(a!.token, /^[0-9a-f]{16}$/);
    assert.deepEqual(a, b, 'both instances hold the state trained once, during the capture');
    for (const instance of instances) {
      const container = docker.getContainer(instance.runtimeId);
      const info = await container.inspect();
      assert.equal(info.Config.Image, systemImage);
      // The training cell never ran in an instance: it would have left the marker.
      await assert.rejects(container.infoArchive({ path: MARKER }), (err: any) => err.statusCode === 404);
    }
  });

  it('refuses a node whose environment image lacks a package the checkpoint needs, naming both images', async () => {
    assert.ok(checkpoint, 'the capture ran');
    const res = await rest(t!.http, 'POST', '/v1/nodes', nodeBody(checkpoint.id, 'iris-no-sklearn', noSklearn));
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 9, JSON.stringify(res.body));
    const message = res.body.message as string;
    console.log(`CreateNode refused: ${message}`);
    assert.match(message, new RegExp(`checkpoint ${checkpoint.id} was captured in ${systemImage.replace(/[.:]/g, '\\$&')} \\(sha256:[0-9a-f]+\\) with Python 3\\.\\d+, .*scikit-learn \\d+\\.\\d+`));
    assert.match(message, new RegExp(`environment image ${noSklearn.replace(/[.:]/g, '\\$&')} \\(sha256:[0-9a-f]+\\) has no scikit-learn$`));

    // Nor may an update move a running node there; the node keeps its environment.
    const update = await rest(t!.http, 'PATCH', `/v1/nodes/${irisNode}?update_mask=spec.checkpoint.environment_image`, { spec: { checkpoint: { environmentImage: noSklearn } } });
    assert.equal(update.status, 400, JSON.stringify(update.body));
    assert.match(update.body.message, /has no scikit-learn$/);
    const node = await rest(t!.http, 'GET', `/v1/nodes/${irisNode}`);
    assert.equal(node.body.spec.checkpoint.environmentImage ?? '', '');
    // The same image as the checkpoint's, named explicitly, is accepted.
    const same = await rest(t!.http, 'PATCH', `/v1/nodes/${irisNode}?update_mask=spec.checkpoint.environment_image`, { spec: { checkpoint: { environmentImage: systemImage } } });
    assert.equal(same.status, 200, JSON.stringify(same.body));
  });

  it('refuses, over gRPC, a node whose environment image has no Python', async () => {
    assert.ok(checkpoint, 'the capture ran');
    const body = nodeBody(checkpoint.id, 'iris-no-python', noPython);
    const typed = (vars: { name: string; type: string }[]) => vars.map((v) => ({ name: v.name, type: VariableType[v.type as keyof typeof VariableType] }));
    const checkpointSpec = { ...body.spec.checkpoint, inputVariables: typed(body.spec.checkpoint.inputVariables), outputVariables: typed(body.spec.checkpoint.outputVariables) };
    const request = CreateNodeRequest.fromPartial({ node: { ...body, spec: { ...body.spec, checkpoint: checkpointSpec } } });
    const err = (await unary(rpc.nodes, 'createNode', request).then(
      () => assert.fail('the node was created'),
      (e: ServiceError) => e,
    )) as ServiceError;
    assert.equal(err.code, 9, err.message);
    console.log(`CreateNode refused: ${err.details}`);
    assert.match(err.details, new RegExp(`checkpoint ${checkpoint.id} was captured in .*; environment image ${noPython.replace(/[.:]/g, '\\$&')} \\(sha256:[0-9a-f]+\\) has no python3$`));
  });

  it('removes the capture container when the capture is cancelled', async () => {
    const created = await rest(t!.http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'slow', cells: { cells: ['import time\ntime.sleep(120)', 'y = 1'] } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const capturing = () => docker.listContainers({ filters: { label: [CAPTURE_LABEL, `berth.run_id=${clusterId}`] } });
    await waitFor('the capture container runs', async () => (await capturing()).length === 1, 30_000);
    const cancelled = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:cancel`, {});
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    await waitFor('the capture container is removed', async () => (await docker.listContainers({ all: true, filters: { label: [CAPTURE_LABEL, `berth.run_id=${clusterId}`] } })).length === 0, 30_000);
    const cp = await rest(t!.http, 'GET', `/v1/checkpoints/${created.body.resourceId}`);
    await waitFor('the checkpoint fails', async () => (await rest(t!.http, 'GET', `/v1/checkpoints/${created.body.resourceId}`)).body.state === 'CHECKPOINT_STATE_FAILED', 10_000);
    assert.equal(cp.status, 200);
  });
});
