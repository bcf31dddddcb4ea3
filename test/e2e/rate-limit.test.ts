/**
 * Per-key rate limits on the data plane: a key limited to 20 calls per second
 * (burst 20) that sends bursts on REST Execute, gRPC Execute and the node API
 * gets 429 / RESOURCE_EXHAUSTED with `retry-after` beyond its tokens, while
 * another key of the same principal is served meanwhile; once it waits, its
 * calls pass again. Each key's calls are counted (ListKeys call_count).
 * Bursts are bounded; nothing here asserts a duration.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import { NodeExecutionRequest } from '../../gen/berth/v1/node_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { clients, statusDetails, unary } from '../helpers/grpc';
import { IamSetup, metadataOf, type KeyHolder } from '../helpers/iam';
import { rest } from '../helpers/rest';
import { sleep, waitFor } from '../helpers/wait';
import { buildSystemImage, buildTestImages } from '../images/test-images';

const RATE = 20;
const BURST = 20;
/** Calls per burst, all sent at once: well beyond the bucket. */
const SENT = 60;
const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

/** How one call ended: passed the limiter (and was answered), or refused by it, with its retry-after. */
type Result = { passed: true } | { passed: false; retryAfter: number };

describe('rate limits per API key on the data plane', () => {
  let skip = false;
  let t: TestBerth | undefined;
  let iam: IamSetup;
  let rpc: ReturnType<typeof clients>;
  const clusterId = `rtl${randomBytes(4).toString('hex')}`;
  let folder = '';
  let checkpointNode = '';
  let dockerNode = '';
  /** Two keys of one principal, each limited to RATE calls per second. */
  let limited: KeyHolder;
  let other: KeyHolder;
  /** Calls sent with each key, to compare with call_count. */
  const sent = new Map<string, number>();
  const count = (key: KeyHolder, n = 1) => sent.set(key.keyId, (sent.get(key.keyId) ?? 0) + n);

  const wait = async (operationId: string): Promise<any> => {
    const op = await iam.call('POST', `/v1/operations/${operationId}:wait`, { timeout: '90s' });
    assert.equal(op.error, undefined, JSON.stringify(op.error));
    return op;
  };

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    const [images, systemImage] = await Promise.all([buildTestImages(), buildSystemImage()]);
    t = await startTestBerth('sqlite', { auth: 'keys', runtime: 'docker', clusterId, systemImage, pullImages: false, resyncMs: 1000, startupTimeoutMs: 60_000 });
    iam = await new IamSetup(t!).init();
    folder = await iam.folder('limited');
    const principal = await iam.principal('busy-client', 'service_account');
    await iam.grant(folder, principal, 'user');
    limited = await iam.key(principal, 'limited', { rateLimitPerSecond: RATE, rateLimitBurst: BURST });
    other = await iam.key(principal, 'other', { rateLimitPerSecond: RATE, rateLimitBurst: BURST });
    const listed = await iam.call('GET', `/v1/principals/${principal}/keys`);
    const shown = listed.keys.find((k: any) => k.id === limited.keyId);
    assert.equal(shown.rateLimitPerSecond, RATE);
    assert.equal(shown.rateLimitBurst, BURST);

    const captured = await wait((await iam.call('POST', '/v1/checkpoints', { folderId: folder, name: 'plus-one', cells: { cells: ['y = 0', 'y = x + 1'] }, servedCellIndex: 1 })).id);
    const [cp, web] = await Promise.all([
      iam.call('POST', '/v1/nodes', {
        folderId: folder,
        name: 'plus',
        spec: { checkpoint: { checkpointId: captured.resourceId, inputVariables: [{ name: 'x', type: 'VARIABLE_TYPE_INT' }], outputVariables: [{ name: 'y', type: 'VARIABLE_TYPE_INT' }] } },
      }),
      iam.call('POST', '/v1/nodes', {
        folderId: folder,
        name: 'web',
        spec: {
          docker: {
            image: images.http,
            endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080, timeout: '10s' },
            healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
          },
        },
      }),
    ]);
    checkpointNode = (await wait(cp.id)).resourceId;
    dockerNode = (await wait(web.id)).resourceId;
    rpc = clients(t!.grpc);
  });

  after(async () => {
    rpc?.close();
    await t?.close();
    if (!skip) await removeByClusterId(clusterId);
  });

  /** The three data-plane paths, each answering how one call with `key` ended. */
  const paths: Record<string, (key: KeyHolder) => Promise<Result>> = {
    'REST Execute': async (key) => {
      count(key);
      const res = await rest(t!.http, 'POST', `/v1/nodes/${checkpointNode}:execute`, { input: { x: 1 } }, key.headers);
      if (res.status === 200) return { passed: true };
      assert.equal(res.status, 429, JSON.stringify(res.body));
      assert.equal(res.body.code, Code.RESOURCE_EXHAUSTED);
      assert.match(res.body.message, new RegExp(`limited to ${RATE} calls per second`));
      assert.ok((res.body.details as any[]).some((d) => d['@type'] === RETRY_INFO), JSON.stringify(res.body));
      return { passed: false, retryAfter: Number(res.headers.get('retry-after')) };
    },
    'gRPC Execute': async (key) => {
      count(key);
      try {
        await unary(rpc.nodes, 'execute', NodeExecutionRequest.fromPartial({ nodeId: checkpointNode, input: { x: 1 } }), metadataOf(key.headers));
        return { passed: true };
      } catch (err) {
        const e = err as ServiceError;
        assert.equal(e.code, Code.RESOURCE_EXHAUSTED, e.details);
        assert.ok(statusDetails(e).some((d) => d.typeName === 'google.rpc.RetryInfo'), e.details);
        return { passed: false, retryAfter: Number(e.metadata.get('retry-after')[0]) };
      }
    },
    'node API': async (key) => {
      count(key);
      const res = await fetch(`http://127.0.0.1:${t!.berth.nodeApiPort}/whoami`, { headers: { ...key.headers, 'x-node-id': dockerNode } });
      const text = await res.text();
      if (res.status === 200) return { passed: true };
      assert.equal(res.status, 429, text);
      assert.equal(JSON.parse(text).code, Code.RESOURCE_EXHAUSTED);
      return { passed: false, retryAfter: Number(res.headers.get('retry-after')) };
    },
  };

  for (const [name, call] of Object.entries(paths)) {
    it(`${name}: a burst beyond the limit gets 429 / RESOURCE_EXHAUSTED with retry-after; another key of the principal is served; after the wait calls pass`, async (ctx) => {
      if (skip) return ctx.skip('no Docker engine');
      // A full bucket to start from.
      await waitFor(`a call of ${name} with the limited key to pass`, async () => (await call(limited)).passed);
      await sleep(1000);

      const started = Date.now();
      const results = await Promise.all(Array.from({ length: SENT }, () => call(limited)));
      const elapsedSeconds = (Date.now() - started) / 1000;
      const passed = results.filter((r) => r.passed).length;
      const refused = results.filter((r): r is { passed: false; retryAfter: number } => !r.passed);
      assert.ok(passed >= 1, 'some calls of the burst pass');
      assert.ok(refused.length >= 1, `all ${SENT} calls passed`);
      // No more than the bucket held plus what flowed in meanwhile.
      assert.ok(passed <= BURST + Math.ceil(RATE * elapsedSeconds) + 1, `${passed} of ${SENT} calls passed in ${elapsedSeconds} s`);
      for (const r of refused) assert.ok(Number.isInteger(r.retryAfter) && r.retryAfter >= 1, `retry-after ${r.retryAfter}`);

      // The limited key's bucket is empty; the other key's is its own.
      const others = await Promise.all(Array.from({ length: 5 }, () => call(other)));
      assert.deepEqual(others.map((r) => r.passed), [true, true, true, true, true], 'the other key of the same principal is served');

      await sleep(Math.max(...refused.map((r) => r.retryAfter)) * 1000);
      assert.deepEqual(await call(limited), { passed: true }, 'after retry-after the limited key passes again');
    });
  }

  it('a limited key cannot make a key of its principal with a higher limit, or none', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    for (const key of [{ rateLimitPerSecond: 0 }, { rateLimitPerSecond: RATE * 10, rateLimitBurst: BURST }]) {
      const res = await rest(t!.http, 'POST', `/v1/principals/${limited.principalId}/keys`, { key }, limited.headers);
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.match(res.body.message, /rate_limit_per_second/);
    }
    const lower = await rest(t!.http, 'POST', `/v1/principals/${limited.principalId}/keys`, { key: { rateLimitPerSecond: RATE / 2 } }, limited.headers);
    assert.equal(lower.status, 200, JSON.stringify(lower.body));
    count(limited);
    count(limited);
    count(limited);
  });

  it('counts the calls of each key (written every few seconds), whether they passed or not', async (ctx) => {
    if (skip) return ctx.skip('no Docker engine');
    let seen: Record<string, number> = {};
    const want = Object.fromEntries([limited, other].map((k) => [k.keyId, sent.get(k.keyId) ?? 0]));
    assert.ok(want[limited.keyId]! > SENT * 3, JSON.stringify(want));
    await waitFor(`ListKeys call_count to reach ${JSON.stringify(want)}`, async () => {
      const listed = await iam.call('GET', `/v1/principals/${limited.principalId}/keys`);
      seen = Object.fromEntries((listed.keys as any[]).filter((k) => k.id in want).map((k) => [k.id, Number(k.callCount ?? 0)]));
      return Object.entries(want).every(([id, n]) => seen[id] === n);
    }, 20_000).catch((err: Error) => assert.fail(`${err.message}; last seen ${JSON.stringify(seen)}`));
    const listed = await iam.call('GET', `/v1/principals/${limited.principalId}/keys`);
    for (const k of listed.keys as any[]) if (k.id in want) assert.ok(k.lastUsedTime, `key ${k.id} has no last_used_time`);
  });
});
