/**
 * The system image on demand: a `berth serve` with the docker runtime whose
 * system image does not exist builds it when the first checkpoint node needs
 * it — once, however many nodes wait — shows the build's progress in the
 * waiting CreateNode operations, and then serves the nodes from the new image.
 *
 * The image gets a tag of this test's own, so that tests using the shared
 * berth-python:<hash> image are not disturbed, and is removed afterwards.
 * The build is real: debootstrap into a fresh root and docker import (about
 * 3 minutes on 2 cores), or, when a root made from the same inputs is kept in
 * ~/.cache/berth/rootfs, docker import of it (seconds).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep } from '../helpers/wait';

const BUILD_TIMEOUT_MS = 15 * 60_000;

/** A notebook whose served cell needs numpy, which only the system image has in the containers. */
const NOTEBOOK = JSON.stringify({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'import numpy as np\nscale = 3.0' },
    { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source: 'y = float(np.sqrt(x)) * scale' },
  ],
});

const nodeBody = (checkpointId: string, name: string) => ({
  folderId: 'default',
  name,
  spec: {
    checkpoint: {
      checkpointId,
      inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_FLOAT' }],
      outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_FLOAT' }],
    },
    instanceRange: { min: 1, max: 1 },
  },
});

describe('the system image on demand (docker runtime)', () => {
  const clusterId = `sib${randomBytes(4).toString('hex')}`;
  const image = `berth-python-rebuild-${randomBytes(4).toString('hex')}:latest`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-sysimg-'));
  const docker = new Dockerode();
  let serve: ServeProcess | undefined;
  let http = '';
  let skip = false;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    serve = await startServe([
      '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
      '--system-image', image, '--pull-images', 'false', '--resync-ms', '1000', '--startup-timeout-ms', '60000',
    ]);
    http = `http://127.0.0.1:${serve.httpPort}`;
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (serve) await serve.exited;
    if (!skip) {
      await removeByClusterId(clusterId);
      await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('builds the missing system image for a capture, builds it again once for two nodes after it was removed, with progress in their operations', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const startedAt = Date.now();
    await assert.rejects(docker.getImage(image).inspect(), 'the system image must not exist before the test');
    const builds = () => serve!.logs.filter((l) => l.msg === 'system image not found locally, building it').length;

    // The capture runs in the system image: it waits for the build, its operation saying how far it is.
    const capture = await rest(http, 'POST', '/v1/checkpoints', { folderId: 'default', name: 'roots', notebook: NOTEBOOK, servedCellIndex: 1 });
    assert.equal(capture.status, 200, JSON.stringify(capture.body));
    const captureProgress: string[] = [];
    let captured: any;
    for (const deadline = Date.now() + BUILD_TIMEOUT_MS; ; await sleep(300)) {
      assert.ok(Date.now() < deadline, `the checkpoint was not captured within ${BUILD_TIMEOUT_MS / 60_000} min; progress: ${JSON.stringify(captureProgress)}`);
      const op = await rest(http, 'GET', `/v1/operations/${capture.body.id}`);
      assert.equal(op.body.metadata['@type'], 'type.googleapis.com/berth.v1.CheckpointOperationMetadata');
      if (op.body.done) {
        captured = op.body;
        break;
      }
      const line = op.body.metadata.progress as string | undefined;
      if (line && captureProgress.at(-1) !== line) captureProgress.push(line);
    }
    assert.equal(captured.error, undefined, JSON.stringify(captured));
    assert.equal(captured.metadata.progress ?? '', '', 'a done operation shows no progress');
    assert.ok(
      captureProgress.some((line) => line.startsWith(`building system image ${image} (`)),
      `the capture's operation showed no build progress while pending: ${JSON.stringify(captureProgress)}`,
    );
    const checkpointId = captured.response.id as string;
    const first = await docker.getImage(image).inspect();
    assert.ok(new Date(first.Created).getTime() >= startedAt - 1000, `the image was created at ${first.Created}, before the test began`);
    assert.equal(captured.response.environmentImageId, first.Id, 'the checkpoint records the image it was captured in');
    assert.equal(builds(), 1);

    // Removed (a prune, say): the nodes that need it wait for Berth to build it again.
    await docker.getImage(image).remove({ force: true });
    const rebuildStartedAt = Date.now();

    // Two nodes at once: both wait for the same build.
    const created = await Promise.all(['roots-a', 'roots-b'].map((name) => rest(http, 'POST', '/v1/nodes', nodeBody(checkpointId, name))));
    for (const c of created) assert.equal(c.status, 200, JSON.stringify(c.body));
    const operationIds = created.map((c) => c.body.id as string);

    const progress = new Map<string, string[]>(operationIds.map((id) => [id, []]));
    const reasons: string[] = [];
    const done = new Map<string, any>();
    const deadline = Date.now() + BUILD_TIMEOUT_MS;
    while (done.size < operationIds.length) {
      assert.ok(Date.now() < deadline, `the nodes were not created within ${BUILD_TIMEOUT_MS / 60_000} min; progress: ${JSON.stringify([...progress])}`);
      for (const id of operationIds) {
        if (done.has(id)) continue;
        const op = await rest(http, 'GET', `/v1/operations/${id}`);
        assert.equal(op.status, 200, JSON.stringify(op.body));
        assert.equal(op.body.metadata['@type'], 'type.googleapis.com/berth.v1.NodeOperationMetadata');
        if (op.body.done) {
          assert.equal(op.body.metadata.progress ?? '', '', 'a done operation shows no progress');
          done.set(id, op.body);
          continue;
        }
        const line = op.body.metadata.progress as string | undefined;
        const seen = progress.get(id)!;
        if (line && seen.at(-1) !== line) seen.push(line);
        const node = await rest(http, 'GET', `/v1/nodes/${op.body.resourceId}`);
        const reason = node.body.status?.reason as string | undefined;
        if (reason && reasons.at(-1) !== reason) reasons.push(reason);
      }
      await sleep(500);
    }
    const buildSeconds = Math.round((Date.now() - startedAt) / 1000);
    t.diagnostic(`the system image was built and both nodes were healthy after ${buildSeconds} s`);
    // Where the time went, from the build's stage lines in Berth's log.
    const stages = serve!.logs.filter((l) => l.msg === 'system image build').map((l) => `${String(l.line).slice(0, 5)} at ${Math.round((Date.parse(l.time) - startedAt) / 1000)} s`);
    t.diagnostic(`build stages: ${stages.join(', ')}`);

    for (const [id, seen] of progress) {
      assert.ok(
        seen.some((line) => line.startsWith(`building system image ${image} (`)),
        `operation ${id} showed no build progress while pending: ${JSON.stringify(seen)}`,
      );
    }
    assert.ok(
      reasons.some((r) => r.startsWith(`building system image ${image}`)),
      `no node status said the system image is being built: ${JSON.stringify(reasons)}`,
    );

    for (const op of done.values()) {
      assert.equal(op.error, undefined, JSON.stringify(op.error));
      assert.equal(op.response.status.state, 'NODE_STATE_HEALTHY', JSON.stringify(op.response.status));
      const res = await rest(http, 'POST', `/v1/nodes/${op.resourceId}:execute`, { input: { x: 16 } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.output.y, 12);
    }

    // The image is there again, made by this Berth after the removal, by one build for both nodes.
    const info = await docker.getImage(image).inspect();
    assert.ok(new Date(info.Created).getTime() >= rebuildStartedAt - 1000, `the image was created at ${info.Created}, before it was removed`);
    assert.equal(builds(), 2, 'one build for the capture, one for both nodes');
    assert.equal(serve!.logs.filter((l) => l.msg === 'system image built').length, 2);
    const instance = (await rest(http, 'GET', `/v1/nodes/${done.values().next().value.resourceId}/instances`)).body.instances[0];
    assert.equal((await docker.getContainer(instance.runtimeId).inspect()).Config.Image, image);
  });
});

describe('the system image on demand, when the build fails', () => {
  const clusterId = `sif${randomBytes(4).toString('hex')}`;
  const image = `berth-python-unbuildable-${randomBytes(4).toString('hex')}:latest`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-sysimg-fail-'));
  let serve: ServeProcess | undefined;
  let skip = false;

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    // A mirror nothing listens on: debootstrap fails at its first download. A lock of its own,
    // so that the builds of other tests on this host do not hold this one up.
    serve = await startServe(
      [
        '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
        '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
        '--system-image', image, '--pull-images', 'false', '--startup-timeout-ms', '60000',
      ],
      { BERTH_SYSTEM_MIRROR: 'http://127.0.0.1:9/debian', BERTH_SYSTEM_IMAGE_LOCK: path.join(dataDir, 'build.lock') },
    );
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    if (serve) await serve.exited;
    if (!skip) {
      await removeByClusterId(clusterId);
      await new Dockerode().getImage(image).remove({ force: true }).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("fails the CreateCheckpoint operation that waits for it with the build's last output", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const http = `http://127.0.0.1:${serve!.httpPort}`;
    const capture = await rest(http, 'POST', '/v1/checkpoints', {
      folderId: 'default',
      name: 'plain',
      cells: { cells: ['scale = 2.0', 'y = x * scale'] },
    });
    assert.equal(capture.status, 200, JSON.stringify(capture.body));
    const op = await rest(http, 'POST', `/v1/operations/${capture.body.id}:wait`, { timeout: '120s' });
    assert.equal(op.body.done, true, JSON.stringify(op.body));
    assert.equal(op.body.error?.code, 9, JSON.stringify(op.body)); // FAILED_PRECONDITION
    assert.match(op.body.error.message, new RegExp(`^image ${image.replace(/[.:]/g, '\\$&')} is not available: not found locally and building it failed: build-system-image\\.sh exited with 1; last output: `));
    assert.match(op.body.error.message, /127\.0\.0\.1:9/, 'the last output names the mirror that failed');
    assert.equal(op.body.metadata.progress ?? '', '');
    const checkpoint = await rest(http, 'GET', `/v1/checkpoints/${capture.body.resourceId}`);
    assert.equal(checkpoint.body.state, 'CHECKPOINT_STATE_FAILED');
  });
});
