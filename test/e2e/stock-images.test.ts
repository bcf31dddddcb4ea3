/**
 * Stock images run as they are: Debian's own nginx package, in an image this
 * test builds with debootstrap (scripts/build-nginx-image.sh), started as
 * root with the package's configuration but for the listen port. Under
 * Berth's defaults (Docker's capabilities minus NET_RAW, no-new-privileges,
 * a PID limit) its master chowns its directories and hands the work to
 * www-data, as on any host; a read-only root with tmpfs mounts and a user
 * the spec names work too. GPUs this engine cannot give are refused at
 * CreateNode. A real Berth (in this process) on the real engine; everything
 * carries this run's cluster id and is removed at the end.
 *
 *   BERTH_REQUIRE_DOCKER=1 node scripts/run-tests.js test/e2e/stock-images.test.ts
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import Dockerode from 'dockerode';
import { CreateNodeRequest } from '../../gen/berth/v1/node_service';
import { EndpointType } from '../../gen/berth/v1/node';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { rest } from '../helpers/rest';
import { buildNginxImage, buildTestImages } from '../images/test-images';

const docker = new Dockerode();

function node(name: string, image: string, security: Record<string, unknown> = {}, healthPath = '/') {
  return {
    folderId: 'default',
    name,
    spec: {
      docker: {
        image,
        endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
        healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: healthPath, interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
        security,
      },
      instanceRange: { min: 1, max: 1 },
      configuration: { cpu: 0.5, memoryBytes: String(128 * 2 ** 20) },
    },
  };
}

/** The processes of a container as the engine's `top` lists them: uid and command line. */
async function processes(containerId: string): Promise<Array<{ uid: string; args: string }>> {
  const top = (await docker.getContainer(containerId).top({ ps_args: '-o pid,uid,args' })) as { Titles: string[]; Processes: string[][] };
  const uid = top.Titles.indexOf('UID');
  const args = top.Titles.indexOf('COMMAND');
  return top.Processes.map((p) => ({ uid: p[uid]!, args: p[args]! }));
}

describe('stock images run as they are', () => {
  let skip = false;
  let t: TestBerth | undefined;
  let nginx = '';
  let httpImage = '';
  const clusterId = `stk${randomBytes(4).toString('hex')}`;

  /** Creates a node and waits for its operation: the node, Healthy, and its one instance. */
  async function healthy(body: unknown): Promise<{ nodeId: string; containerId: string }> {
    const created = await rest(t!.http, 'POST', '/v1/nodes', body);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const op = await rest(t!.http, 'POST', `/v1/operations/${created.body.id}:wait`, { timeout: '60s' });
    assert.equal(op.body.done, true, JSON.stringify(op.body));
    assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
    assert.equal(op.body.response.status.state, 'NODE_STATE_HEALTHY');
    const instances = (await rest(t!.http, 'GET', `/v1/nodes/${op.body.resourceId}/instances`)).body.instances;
    assert.equal(instances.length, 1);
    return { nodeId: op.body.resourceId, containerId: instances[0].runtimeId };
  }

  /** GET / of the node through the node API. */
  async function welcome(nodeId: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${t!.berth.nodeApiPort}/`, { headers: { 'x-node-id': nodeId } });
    return { status: res.status, body: await res.text() };
  }

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    [nginx, httpImage] = await Promise.all([buildNginxImage(), buildTestImages().then((i) => i.http)]);
    t = await startTestBerth('sqlite', { runtime: 'docker', pullImages: false, clusterId, startupTimeoutMs: 20_000, resyncMs: 1000 });
  });

  after(async () => {
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  it("runs Debian's nginx package as it comes (root, its own configuration): Healthy, and it answers through the node API", async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const { nodeId, containerId } = await healthy(node('nginx', nginx));
    const page = await welcome(nodeId);
    assert.equal(page.status, 200);
    assert.match(page.body, /Welcome to nginx!/);

    // Berth's defaults, no override in the spec.
    const info = await docker.getContainer(containerId).inspect();
    assert.equal(info.Config.User, '');
    assert.equal(info.HostConfig.Privileged, false);
    assert.deepEqual(info.HostConfig.CapDrop, ['NET_RAW']);
    assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(info.HostConfig.PidsLimit, 4096);
    assert.equal(info.HostConfig.ReadonlyRootfs, false);
    assert.equal(info.HostConfig.Memory, 128 * 2 ** 20);
    assert.equal(info.HostConfig.NanoCpus, 500_000_000);
    // The master started as root and handed the work to www-data (uid 33), as the package means it to.
    const procs = await processes(containerId);
    assert.ok(procs.some((p) => p.uid === '0' && /nginx: master process/.test(p.args)), JSON.stringify(procs));
    assert.ok(procs.some((p) => p.uid === '33' && /nginx: worker process/.test(p.args)), JSON.stringify(procs));
  });

  it('runs it on a read-only root with tmpfs where nginx writes', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const tmpfs = [{ path: '/var/lib/nginx' }, { path: '/run', sizeBytes: String(2 ** 20) }, { path: '/var/log/nginx' }];
    const { nodeId, containerId } = await healthy(node('nginx-ro', nginx, { readOnlyRootFilesystem: true, tmpfs }));
    const page = await welcome(nodeId);
    assert.equal(page.status, 200);
    assert.match(page.body, /nginx/);
    const info = await docker.getContainer(containerId).inspect();
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(info.HostConfig.Tmpfs, {
      '/var/lib/nginx': 'rw,nosuid,nodev,noexec,size=67108864',
      '/run': 'rw,nosuid,nodev,noexec,size=1048576',
      '/var/log/nginx': 'rw,nosuid,nodev,noexec,size=67108864',
    });
    const shown = (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}`)).body.spec.docker.security;
    assert.deepEqual(shown.tmpfs, [
      { path: '/var/lib/nginx', sizeBytes: String(64 * 2 ** 20) },
      { path: '/run', sizeBytes: String(2 ** 20) },
      { path: '/var/log/nginx', sizeBytes: String(64 * 2 ** 20) },
    ]);
  });

  it('runs the image as the user the spec names, with the capabilities it changes', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const { nodeId, containerId } = await healthy(
      node('as-user', httpImage, { user: '4321:4321', capAdd: ['cap_sys_nice'], capDrop: ['CHOWN'] }, '/healthz'),
    );
    const res = await fetch(`http://127.0.0.1:${t!.berth.nodeApiPort}/whoami`, { headers: { 'x-node-id': nodeId } });
    assert.equal(res.status, 200);
    const info = await docker.getContainer(containerId).inspect();
    assert.equal(info.Config.User, '4321:4321');
    assert.deepEqual(info.HostConfig.CapAdd, ['SYS_NICE']);
    assert.deepEqual(info.HostConfig.CapDrop, ['NET_RAW', 'CHOWN']);
    const procs = await processes(containerId);
    assert.ok(procs.length > 0 && procs.every((p) => p.uid === '4321'), JSON.stringify(procs));
  });

  it('refuses a node with GPUs at once, since this engine has no GPU runtime', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    assert.ok(!('nvidia' in (info.Runtimes ?? {})), 'this test expects an engine without the nvidia runtime');
    const body = node('gpu', nginx);
    const refused = await rest(t!.http, 'POST', '/v1/nodes', { ...body, spec: { ...body.spec, configuration: { gpu: 1 } } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.code, Code.FAILED_PRECONDITION);
    assert.match(refused.body.message, /asks for 1 GPU, but the Docker engine has no GPU runtime/);
    const c = clients(t!.grpc);
    try {
      await assert.rejects(
        unary(c.nodes, 'createNode', CreateNodeRequest.fromPartial({
          node: {
            folderId: 'default',
            name: 'gpu',
            spec: { docker: { image: nginx, endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 } }, configuration: { gpu: 2 } },
          },
        })),
        (err: { code: number; details: string }) => err.code === Code.FAILED_PRECONDITION && /asks for 2 GPUs/.test(err.details),
      );
    } finally {
      c.close();
    }
    const listed = (await rest(t!.http, 'GET', '/v1/nodes?folder_id=default')).body.nodes as Array<{ name: string }>;
    assert.ok(!listed.some((n) => n.name === 'gpu'), 'nothing is stored');
  });
});
