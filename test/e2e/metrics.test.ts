/**
 * GET /metrics after calls to a checkpoint node, an HTTP and a gRPC Docker
 * node and aliases, on every data-plane path (gRPC and REST Execute and
 * ExecuteAlias, the typed gRPC service and REST route, the node API by
 * `x-node-id` and `x-node-alias`): promtool finds nothing to say about the
 * exposition, each counter equals the calls made, by code, and ids that name
 * nothing never become labels. Then the custom counter of the Docker node's
 * image, scraped from each instance's telemetry endpoint, appears at
 * /metrics/folders/{id} with node_id and instance_id; and a deleted alias and
 * node take their series with them. Real Berth on the docker runtime.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { AliasExecutionRequest, NodeExecutionRequest } from '../../gen/berth/v1/node_service';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, unary } from '../helpers/grpc';
import { promtoolCheck, samplesOf, sumOf, type ScrapedSample } from '../helpers/metrics';
import { rest } from '../helpers/rest';
import { typedClient } from '../helpers/typed-client';
import { waitFor } from '../helpers/wait';
import { buildSystemImage, buildTestImages } from '../images/test-images';

const echoProto = loadSync(path.join(__dirname, '..', 'images', 'grpc-server', 'echo.proto'), { keepCase: true });
const EchoClient = grpc.makeClientConstructor(echoProto['berth.test.Echo'] as grpc.ServiceDefinition, 'Echo');

for (const db of DATABASES) {
  describe(`metrics on ${db}: GET /metrics and the telemetry of Docker instances`, () => {
    let skip = false;
    let t: TestBerth | undefined;
    let rpc: ReturnType<typeof clients>;
    const clusterId = `met${randomBytes(4).toString('hex')}`;
    const folderId = 'default';
    let plus = '';
    let web = '';
    let echo = '';
    let httpImage = '';

    const wait = async (operationId: string): Promise<any> => {
      const op = await rest(t!.http, 'POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' });
      assert.equal(op.body.done, true, JSON.stringify(op.body));
      assert.equal(op.body.error, undefined, JSON.stringify(op.body.error));
      return op.body;
    };
    const post = async (path: string, body: unknown): Promise<any> => {
      const res = await rest(t!.http, 'POST', path, body);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const scrape = async (path = '/metrics'): Promise<{ text: string; samples: ScrapedSample[] }> => {
      const res = await fetch(`${t!.http}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      return { text, samples: samplesOf(text) };
    };
    const codeOf = (call: Promise<unknown>): Promise<Code> =>
      call.then(
        () => Code.OK,
        (err: ServiceError) => err.code,
      );

    before(async () => {
      if (!(await dockerAvailable())) {
        skip = true;
        return;
      }
      const [images, systemImage] = await Promise.all([buildTestImages(), buildSystemImage()]);
      httpImage = images.http;
      t = await startTestBerth(db, { runtime: 'docker', clusterId, systemImage, pullImages: false, resyncMs: 1000, startupTimeoutMs: 60_000 });
      if (!t) {
        skip = true;
        return;
      }
      const captured = await wait(
        (await post('/v1/checkpoints', { folderId, name: 'plus-one', cells: { cells: ['y = 0', 'if x < 0:\n    raise ValueError("negative")\ny = x + 1'] }, servedCellIndex: 1 })).id,
      );
      const [cp, docker, grpcNode] = await Promise.all([
        post('/v1/nodes', {
          folderId,
          name: 'plus',
          spec: {
            checkpoint: { checkpointId: captured.resourceId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] },
          },
        }),
        post('/v1/nodes', {
          folderId,
          name: 'web',
          spec: {
            docker: {
              image: images.http,
              endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
              healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
              telemetry: { port: 8080, httpPath: '/metrics' },
            },
            instanceRange: { min: 2, max: 2 },
          },
        }),
        post('/v1/nodes', {
          folderId,
          name: 'echo',
          spec: {
            docker: { image: images.grpc, endpoint: { type: 'ENDPOINT_TYPE_GRPC', port: 50051 }, healthCheck: { type: 'HEALTH_CHECK_TYPE_GRPC', interval: '0.3s' } },
          },
        }),
      ]);
      plus = (await wait(cp.id)).resourceId;
      web = (await wait(docker.id)).resourceId;
      echo = (await wait(grpcNode.id)).resourceId;
      await post('/v1/aliases', { folderId, name: 'prod', targets: [{ nodeId: plus, weight: 100 }] });
      await post('/v1/aliases', { folderId, name: 'webprod', targets: [{ nodeId: web, weight: 100 }] });
      rpc = clients(t!.grpc);
    });

    after(async () => {
      rpc?.close();
      await t?.close();
      if (!skip) await removeByClusterId(clusterId);
    });

    it('counts every call by node, alias and code, and promtool finds the exposition clean', async (ctx) => {
      if (skip) return ctx.skip(t ? 'no Docker engine' : `no ${db}`);
      const nodeApi = `http://127.0.0.1:${t!.berth.nodeApiPort}`;
      const execute = (x: number) => codeOf(unary(rpc.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId: plus, input: { x } })));
      const executeAlias = (x: number, aliasName = 'prod') => codeOf(unary(rpc.nodes, 'executeAlias', AliasExecutionRequest.fromPartial({ folderId, aliasName, input: { x } })));
      const restExecute = async (path: string, x: number) => (await rest(t!.http, 'POST', path, { folderId, input: { x } })).status;

      // The checkpoint node, directly: gRPC Execute 3 OK + 2 user errors (ABORTED), REST 2 OK + 1 user error (409),
      // the typed gRPC service 1 OK, the typed REST route 1 OK.
      const grpcCodes = [await execute(1), await execute(2), await execute(3), await execute(-1), await execute(-2)];
      assert.deepEqual(grpcCodes, [Code.OK, Code.OK, Code.OK, Code.ABORTED, Code.ABORTED]);
      const restCodes = [await restExecute(`/v1/nodes/${plus}:execute`, 1), await restExecute(`/v1/nodes/${plus}:execute`, 2), await restExecute(`/v1/nodes/${plus}:execute`, -1)];
      assert.deepEqual(restCodes, [200, 200, 409]);
      const api = (await rest(t!.http, 'GET', `/v1/nodes/${plus}/api`)).body;
      const typed = typedClient(t!.grpc, api.protoFile, api.service);
      try {
        assert.equal(Number((await typed.execute({ x: 5 })).y), 6);
      } finally {
        typed.close();
      }
      const typedRest = await fetch(`${t!.http}/v1/nodes/${plus}/api:execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 7 }) });
      assert.equal(typedRest.status, 200);
      // Through the alias: gRPC 2 OK, REST 1 OK + 1 user error.
      assert.deepEqual([await executeAlias(1), await executeAlias(2)], [Code.OK, Code.OK]);
      assert.deepEqual([await restExecute('/v1/aliases/prod:execute', 1), await restExecute('/v1/aliases/prod:execute', -1)], [200, 409]);
      // Names of nothing: never labels.
      assert.equal(await codeOf(unary(rpc.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId: 'nosuchnode0', input: { x: 1 } }))), Code.NOT_FOUND);
      assert.equal(await executeAlias(1, 'nosuchalias'), Code.NOT_FOUND);

      // The Docker node through the node API: by x-node-id 3 × 200, 2 × 404, 1 × 500; by x-node-alias 1 × 200, 1 × 404.
      const call = async (path: string, headers: Record<string, string>) => {
        const res = await fetch(`${nodeApi}${path}`, { headers });
        await res.arrayBuffer();
        return res.status;
      };
      const byId = { 'x-node-id': web };
      const byAlias = { 'x-node-alias': 'webprod', 'x-folder-id': folderId };
      const dockerCodes = [];
      for (const path of ['/whoami', '/whoami', '/whoami', '/status/404', '/status/404', '/status/500']) dockerCodes.push(await call(path, byId));
      assert.deepEqual(dockerCodes, [200, 200, 200, 404, 404, 500]);
      assert.deepEqual([await call('/whoami', byAlias), await call('/status/404', byAlias)], [200, 404]);
      assert.equal(await call('/whoami', { 'x-node-id': 'garbage0node' }), 404);
      assert.equal(await call('/whoami', { 'x-node-alias': 'garbagealias', 'x-folder-id': folderId }), 404);
      // The gRPC Docker node through the node API: 2 OK, NOT_FOUND and INVALID_ARGUMENT from the image.
      const echoClient = new EchoClient(`127.0.0.1:${t!.berth.nodeApiPort}`, grpc.credentials.createInsecure()) as any;
      try {
        const md = new grpc.Metadata();
        md.set('x-node-id', echo);
        const unaryEcho = (method: string, request: unknown) =>
          new Promise<Code>((resolve) => echoClient[method](request, md, (err: ServiceError | null) => resolve(err ? err.code : Code.OK)));
        const echoCodes = [await unaryEcho('Echo', { message: 'a' }), await unaryEcho('Echo', { message: 'b' }), await unaryEcho('Fail', { code: 5 }), await unaryEcho('Fail', { code: 3 })];
        assert.deepEqual(echoCodes, [Code.OK, Code.OK, Code.NOT_FOUND, Code.INVALID_ARGUMENT]);
      } finally {
        echoClient.close();
      }

      // The node API counts a call when the caller's side closes, a moment after the answer.
      const { text, samples } = await waitFor('the node API calls counted', async () => {
        const s = await scrape();
        return sumOf(s.samples, 'berth_node_requests_total', { node_id: web }) >= 8 && sumOf(s.samples, 'berth_node_requests_total', { node_id: echo }) >= 4 ? s : undefined;
      }, 10_000);

      const lint = promtoolCheck(text);
      assert.equal(lint.status, 0, lint.output);
      assert.equal(lint.output, '');

      const p = { folder_id: folderId, node_id: plus };
      const got = (name: string, labels: Record<string, string>) => sumOf(samples, name, labels);
      const expect = (name: string, labels: Record<string, string>, want: number) => assert.equal(got(name, labels), want, `${name} ${JSON.stringify(labels)}`);
      // The checkpoint node: 10 direct calls and 4 through its alias.
      expect('berth_node_requests_total', p, 14);
      expect('berth_node_grpc_codes_total', { ...p, code: 'OK' }, 3 + 1 + 2);
      expect('berth_node_grpc_codes_total', { ...p, code: 'ABORTED' }, 2);
      expect('berth_node_grpc_codes_total', p, 8);
      expect('berth_node_http_codes_total', { ...p, code: '200' }, 2 + 1 + 1);
      expect('berth_node_http_codes_total', { ...p, code: '409' }, 2);
      expect('berth_node_http_codes_total', p, 6);
      expect('berth_node_request_duration_seconds_count', p, 14);
      const prod = { folder_id: folderId, alias_name: 'prod', node_id: plus };
      expect('berth_alias_requests_total', prod, 4);
      expect('berth_alias_grpc_codes_total', { ...prod, code: 'OK' }, 2);
      expect('berth_alias_http_codes_total', { ...prod, code: '200' }, 1);
      expect('berth_alias_http_codes_total', { ...prod, code: '409' }, 1);
      expect('berth_alias_request_duration_seconds_count', prod, 4);
      // Every call that reached the node's queue, whether its code then failed or not.
      expect('berth_execute_queue_wait_seconds_count', {}, 14);
      expect('berth_execute_queue_depth', p, 0);
      // The Docker node: 6 calls by id, 2 through its alias.
      const w = { folder_id: folderId, node_id: web };
      expect('berth_node_requests_total', w, 8);
      expect('berth_node_http_codes_total', { ...w, code: '200' }, 4);
      expect('berth_node_http_codes_total', { ...w, code: '404' }, 3);
      expect('berth_node_http_codes_total', { ...w, code: '500' }, 1);
      expect('berth_node_grpc_codes_total', w, 0);
      expect('berth_node_request_duration_seconds_count', w, 8);
      const e = { folder_id: folderId, node_id: echo };
      expect('berth_node_requests_total', e, 4);
      expect('berth_node_grpc_codes_total', { ...e, code: 'OK' }, 2);
      expect('berth_node_grpc_codes_total', { ...e, code: 'NOT_FOUND' }, 1);
      expect('berth_node_grpc_codes_total', { ...e, code: 'INVALID_ARGUMENT' }, 1);
      expect('berth_node_http_codes_total', e, 0);
      const webprod = { folder_id: folderId, alias_name: 'webprod', node_id: web };
      expect('berth_alias_requests_total', webprod, 2);
      expect('berth_alias_http_codes_total', { ...webprod, code: '200' }, 1);
      expect('berth_alias_http_codes_total', { ...webprod, code: '404' }, 1);
      // Only these three nodes and two aliases are named: the made-up names are nowhere.
      const nodeIds = new Set(samples.filter((s) => s.labels.node_id !== undefined).map((s) => s.labels.node_id));
      assert.deepEqual([...nodeIds].sort(), [plus, web, echo].sort());
      const aliasNames = new Set(samples.filter((s) => s.labels.alias_name !== undefined).map((s) => s.labels.alias_name));
      assert.deepEqual([...aliasNames].sort(), ['prod', 'webprod']);
      for (const made of ['nosuchnode0', 'nosuchalias', 'garbage0node', 'garbagealias']) assert.ok(!text.includes(made), `${made} is in /metrics`);

      // Control-plane calls by method, transport and code.
      expect('berth_api_calls_total', { method: 'berth.v1.NodeService/Execute', transport: 'grpc', code: 'OK' }, 3);
      expect('berth_api_calls_total', { method: 'berth.v1.NodeService/Execute', transport: 'grpc', code: 'ABORTED' }, 2);
      expect('berth_api_calls_total', { method: 'berth.v1.NodeService/Execute', transport: 'grpc', code: 'NOT_FOUND' }, 1);
      expect('berth_api_calls_total', { method: 'berth.v1.NodeService/CreateNode', transport: 'rest', code: 'OK' }, 3);
      expect('berth_api_calls_total', { method: 'berth.v1.AliasService/CreateAlias', transport: 'rest', code: 'OK' }, 2);
      expect('berth_api_call_duration_seconds_count', { method: 'berth.v1.NodeService/CreateNode', transport: 'rest' }, 3);
      // Instances by state, cold starts of the three instances, the capture, the process.
      expect('berth_instances', { ...w, state: 'healthy' }, 2);
      expect('berth_instances', { ...p, state: 'healthy' }, 1);
      expect('berth_instance_cold_start_seconds_count', w, 2);
      expect('berth_instance_cold_start_seconds_count', p, 1);
      assert.ok(got('berth_instance_cold_start_seconds_sum', w) > 0);
      expect('berth_checkpoint_capture_duration_seconds_count', { outcome: 'ok' }, 1);
      assert.ok(got('process_cpu_seconds_total', {}) > 0);
      assert.ok(got('process_resident_memory_bytes', {}) > 0);
    });

    it("re-exposes the custom counter of each Docker instance's telemetry with node_id and instance_id", async (ctx) => {
      if (skip) return ctx.skip(t ? 'no Docker engine' : `no ${db}`);
      const instances: string[] = (await rest(t!.http, 'GET', `/v1/nodes/${web}/instances`)).body.instances.map((i: any) => i.id);
      assert.equal(instances.length, 2);
      const { text, samples } = await scrape(`/metrics/folders/${folderId}`);
      const lint = promtoolCheck(text);
      assert.equal(lint.status, 0, lint.output);
      assert.equal(lint.output, '');
      assert.match(text, /^# TYPE berth_test_http_requests_total counter$/m);
      for (const instanceId of instances) assert.equal(sumOf(samples, 'berth_telemetry_up', { node_id: web, instance_id: instanceId }), 1, instanceId);
      // Each instance counts what it answered; together they answered every call the previous test made.
      const custom = samples.filter((s) => s.name === 'berth_test_http_requests_total');
      assert.ok(custom.length > 0);
      for (const s of custom) {
        assert.equal(s.labels.node_id, web);
        assert.ok(instances.includes(s.labels.instance_id!), JSON.stringify(s.labels));
      }
      assert.equal(sumOf(samples, 'berth_test_http_requests_total', { node_id: web, code: '200' }), 4);
      assert.equal(sumOf(samples, 'berth_test_http_requests_total', { node_id: web, code: '404' }), 3);
      assert.equal(sumOf(samples, 'berth_test_http_requests_total', { node_id: web, code: '500' }), 1);
      // Nothing of Berth's own metrics is mixed in, nor of a node without telemetry.
      assert.ok(!samples.some((s) => s.name.startsWith('process_') || s.labels.node_id === plus || s.labels.node_id === echo));
    });

    it('drops the series of a deleted alias and of a deleted node', async (ctx) => {
      if (skip) return ctx.skip(t ? 'no Docker engine' : `no ${db}`);
      const alias = (await rest(t!.http, 'GET', `/v1/aliases?folder_id=${folderId}`)).body.aliases.find((a: any) => a.name === 'webprod');
      assert.equal((await rest(t!.http, 'DELETE', `/v1/aliases/${alias.id}`)).status, 200);
      let { samples } = await scrape();
      assert.equal(samples.filter((s) => s.labels.alias_name === 'webprod').length, 0);
      assert.ok(sumOf(samples, 'berth_alias_requests_total', { alias_name: 'prod' }) > 0, 'the other alias keeps its series');
      await wait((await rest(t!.http, 'DELETE', `/v1/nodes/${web}`)).body.id);
      ({ samples } = await waitFor('the deleted node gone from /metrics', async () => {
        const s = await scrape();
        return s.samples.some((x) => x.labels.node_id === web) ? undefined : s;
      }, 15_000));
      assert.ok(sumOf(samples, 'berth_node_requests_total', { node_id: plus }) > 0, 'the other node keeps its series');
    });

    it('counts autoscaler decisions by direction, and the cold start of the instance a scale-up made', async (ctx) => {
      if (skip) return ctx.skip(t ? 'no Docker engine' : `no ${db}`);
      const nodeApi = `http://127.0.0.1:${t!.berth.nodeApiPort}`;
      const created = await post('/v1/nodes', {
        folderId,
        name: 'elastic',
        spec: {
          docker: { image: httpImage, endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 }, healthCheck: { path: '/healthz', interval: '0.3s' } },
          instanceRange: { min: 1, max: 2 },
          autoscaling: { targetInFlight: 1, scaleDownStabilization: '1s' },
        },
      });
      const nodeId: string = (await wait(created.id)).resourceId;
      const healthy = async () => (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}`)).body.status.instanceCounts.healthy as number;
      let running = true;
      const callers = Array.from({ length: 3 }, async () => {
        while (running) {
          const res = await fetch(`${nodeApi}/slow?ms=300`, { headers: { 'x-node-id': nodeId } });
          await res.arrayBuffer();
        }
      });
      try {
        await waitFor('the node to scale up to 2', async () => (await healthy()) === 2, 45_000);
      } finally {
        running = false;
        await Promise.all(callers);
      }
      await waitFor('the node to scale back down to 1', async () => (await rest(t!.http, 'GET', `/v1/nodes/${nodeId}/instances`)).body.instances.length === 1, 45_000);
      const { samples } = await scrape();
      // 1 -> 2 under load, 2 -> 1 after it: the range allows no other decision.
      assert.equal(sumOf(samples, 'berth_autoscaler_decisions_total', { node_id: nodeId, direction: 'up' }), 1);
      assert.equal(sumOf(samples, 'berth_autoscaler_decisions_total', { node_id: nodeId, direction: 'down' }), 1);
      // The first instance and the one the scale-up created.
      assert.equal(sumOf(samples, 'berth_instance_cold_start_seconds_count', { node_id: nodeId }), 2);
      assert.equal(sumOf(samples, 'berth_instances', { node_id: nodeId, state: 'healthy' }), 1);
    });
  });
}
