/**
 * `berth serve --data-plane haproxy`: HAProxy listens on the node-API port
 * and relays straight to instances the calls Berth has already decided;
 * Berth's own server, behind it, answers everything else. What a caller
 * sees must not depend on which of the two served a call: the same answers,
 * the same refusals (a key revoked stops at HAProxy as it stops at Berth,
 * a rate-limited key is counted on every call), the same limits on bodies,
 * the same headers, one access line and one metric sample per call, calls
 * through an alias split by its weights, and no failed call while instances
 * are replaced or an alias is switched. HAProxy lives and dies with
 * Berth: restarted when it dies, gone when Berth is killed.
 *
 * (The rest of the node-API tests run against this data plane too with
 * BERTH_TEST_DATA_PLANE=haproxy; see README.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTestImages } from '../images/test-images';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { IamSetup } from '../helpers/iam';
import { commandOf, processTree } from '../helpers/processes';
import { samplesOf, sumOf } from '../helpers/metrics';
import { rest } from '../helpers/rest';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { sleep, waitFor } from '../helpers/wait';

const HAPROXY = '/usr/sbin/haproxy';
/** A small limit, so that bodies over it are cheap to send. */
const MAX_BYTES = 256 * 1024;

/** Whether HAProxy is installed; with BERTH_REQUIRE_DOCKER=1 (CI) its absence is a failure. */
function haproxyAvailable(): boolean {
  if (existsSync(HAPROXY)) return true;
  if (process.env.BERTH_REQUIRE_DOCKER === '1') throw new Error(`HAProxy is required for the data-plane tests (BERTH_REQUIRE_DOCKER=1) but ${HAPROXY} is missing: apt-get install haproxy`);
  console.warn(`\n*** SKIPPING the HAProxy data-plane tests: ${HAPROXY} is missing ***\n`);
  return false;
}

/** HAProxy's processes (master and workers) of the configuration under `dir`, wherever they are parented. */
function haproxyProcesses(configDir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const cmd = commandOf(pid);
      return cmd.startsWith(HAPROXY) && cmd.includes(configDir);
    });
}

/** One command on the admin socket of the HAProxy Berth runs under `berthPid`. */
async function adminCommand(berthPid: number, command: string): Promise<string> {
  const master = processTree(berthPid).slice(1).find((pid) => commandOf(pid).startsWith(HAPROXY));
  assert.ok(master, 'HAProxy runs under Berth');
  const dir = /-f (\S+)\/haproxy\.cfg/.exec(commandOf(master))![1]!;
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.createConnection(path.join(dir, 'admin.sock'), () => socket.end(`${command}\n`));
    socket.on('data', (d: Buffer) => (out += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

/** A call with a body sent in chunks (no content-length), as a streaming client sends it. */
function chunkedPost(base: string, pathName: string, headers: Record<string, string>, bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${pathName}`, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    const chunk = Buffer.alloc(16 * 1024, 7);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('the node API with --data-plane haproxy', () => {
  const clusterId = `hx${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-haproxy-test-'));
  let serve: ServeProcess | undefined;
  let skip = false;
  let base = '';
  let nodeApi = '';
  let iam: IamSetup;
  let nodeId = '';
  let httpImage = '';
  let n = 0;
  const rid = (what: string): string => `${what}-${++n}-${randomBytes(3).toString('hex')}`;

  const accessLinesOf = (requestId: string): any[] => serve!.logs.filter((l) => l.component === 'access' && l.requestId === requestId);
  const oneAccessLine = async (requestId: string): Promise<any> => {
    await waitFor(`the access line of ${requestId}`, async () => accessLinesOf(requestId).length > 0, 5000, 20);
    await sleep(100);
    const lines = accessLinesOf(requestId);
    assert.equal(lines.length, 1, `one access line per call: ${JSON.stringify(lines)}`);
    return lines[0];
  };

  /** Calls the node until HAProxy relays one itself (the first calls of a key go through Berth, which grants it). */
  const untilFast = async (headers: Record<string, string>): Promise<any> =>
    waitFor(
      'a call relayed by HAProxy',
      async () => {
        const requestId = rid('fast');
        const res = await fetch(`${nodeApi}/whoami`, { headers: { ...headers, 'x-node-id': nodeId, 'x-request-id': requestId } });
        assert.equal(res.status, 200, await res.text());
        await res.arrayBuffer().catch(() => undefined);
        const line = await oneAccessLine(requestId);
        return line.dataPlane === 'haproxy' ? line : undefined;
      },
      10_000,
      0,
    );

  async function createNode(name: string, min: number, env: Record<string, string> = {}): Promise<string> {
    const op = await rest(base, 'POST', '/v1/nodes', {
      folderId: 'default',
      name,
      spec: {
        docker: {
          image: httpImage,
          env,
          endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 },
          healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: '/healthz', interval: '0.3s', timeout: '1s', failsThreshold: 2, passesThreshold: 1 },
        },
        instanceRange: { min, max: min },
      },
    }, iam.admin.headers);
    assert.equal(op.status, 200, JSON.stringify(op.body));
    const done = await rest(base, 'POST', `/v1/operations/${op.body.id}:wait`, { timeout: '60s' }, iam.admin.headers);
    assert.equal(done.body.error, undefined, JSON.stringify(done.body));
    return done.body.resourceId;
  }

  before(async () => {
    if (!(await dockerAvailable()) || !haproxyAvailable()) {
      skip = true;
      return;
    }
    httpImage = (await buildTestImages()).http;
    serve = await startServe([
      '--auth', 'keys', '--data-plane', 'haproxy', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', dataDir, '--runtime', 'docker', '--cluster-id', clusterId,
      '--pull-images', 'false', '--resync-ms', '1000', '--max-message-bytes', String(MAX_BYTES),
    ]);
    base = `http://127.0.0.1:${serve.httpPort}`;
    nodeApi = `http://127.0.0.1:${serve.nodeApiPort}`;
    iam = await new IamSetup({ http: base, config: { dataDir } } as never).init();
    nodeId = await createNode('web', 2);
  });

  after(async () => {
    if (serve) {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
    if (!skip) await removeByClusterId(clusterId);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('says which data plane serves, and relays a granted caller\'s calls from HAProxy with Berth\'s headers, access line and metrics', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    const serving = serve!.logs.find((l) => l.msg === 'berth is serving');
    assert.equal(serving.dataPlane, 'haproxy');

    const line = await untilFast(iam.admin.headers);
    assert.equal(line.listener, 'node-api');
    assert.equal(line.nodeId, nodeId);
    assert.equal(line.status, 200);
    assert.equal(line.httpMethod, 'GET');
    assert.equal(line.path, '/whoami');
    assert.equal(line.principal, 'admin');
    assert.equal(line.principalId, iam.admin.principalId);
    assert.match(line.instanceId, /\w/);

    // Both instances serve fast-path calls; every answer names its node and instance, and echoes the request id.
    const seen = new Set<string>();
    const before = sumOf(samplesOf(await (await fetch(`${base}/metrics`, { headers: iam.admin.headers })).text()), 'berth_node_requests_total', { node_id: nodeId });
    const CALLS = 40;
    let fast = 0;
    for (let i = 0; i < CALLS; i++) {
      const requestId = rid('many');
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...iam.admin.headers, 'x-node-id': nodeId, 'x-request-id': requestId } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { instance: string };
      assert.equal(res.headers.get('x-berth-node-id'), nodeId);
      assert.equal(res.headers.get('x-berth-instance-id'), body.instance);
      assert.equal(res.headers.get('x-request-id'), requestId);
      seen.add(body.instance);
      if ((await oneAccessLine(requestId)).dataPlane === 'haproxy') fast++;
    }
    assert.equal(seen.size, 2, 'both instances served');
    // HAProxy keeps its connections to instances: calls reuse them rather than open one each.
    const stat = (await adminCommand(serve!.proc.pid!, 'show stat')).split('\n');
    const header = stat[0]!.replace(/^# /, '').split(',');
    const rows = stat.slice(1).map((l) => l.split(',')).filter((f) => f[header.indexOf('svname')]?.startsWith(`${nodeId}.`));
    const sum = (column: string): number => rows.reduce((n, f) => n + Number(f[header.indexOf(column)] || 0), 0);
    assert.ok(sum('reuse') > 0 && sum('connect') < CALLS / 2, `connections opened ${sum('connect')}, reused ${sum('reuse')} for ${CALLS} calls`);
    assert.ok(fast > CALLS / 2, `most calls of a granted key take HAProxy's path (${fast} of ${CALLS})`);
    await waitFor(
      'every call counted in berth_node_requests_total',
      async () => sumOf(samplesOf(await (await fetch(`${base}/metrics`, { headers: iam.admin.headers })).text()), 'berth_node_requests_total', { node_id: nodeId }) >= before + CALLS,
      5000,
    );

    // Berth's headers stay Berth's: the instance never sees the key or the routing headers.
    const seenHeaders = await untilFastHeaders();
    for (const name of ['authorization', 'x-node-id', 'x-folder-id']) assert.equal(seenHeaders[name], undefined, `${name} reached the instance`);
    // A request id that is not sane is replaced, as Berth replaces it.
    const odd = await fetch(`${nodeApi}/whoami`, { headers: { ...iam.admin.headers, 'x-node-id': nodeId, 'x-request-id': 'a b<c>' } });
    assert.equal(odd.status, 200);
    assert.match(odd.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });

  it('keeps a busy caller on HAProxy\'s path: Berth decides its grant again in the background, not on one of its calls', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    await untilFast(iam.admin.headers);
    const ids: string[] = [];
    const until = Date.now() + 3000;
    // Three grant periods of calls one after another (bounded by count as well as time).
    for (let i = 0; i < 3000 && Date.now() < until; i++) {
      const requestId = rid('busy');
      ids.push(requestId);
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...iam.admin.headers, 'x-node-id': nodeId, 'x-request-id': requestId } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await oneAccessLine(ids[ids.length - 1]!);
    const viaBerth = ids.filter((id) => accessLinesOf(id)[0]?.dataPlane !== 'haproxy');
    assert.deepEqual(viaBerth, [], `${viaBerth.length} of ${ids.length} calls went through Berth's server`);
  });

  async function untilFastHeaders(): Promise<Record<string, string>> {
    await untilFast(iam.admin.headers);
    const requestId = rid('headers');
    const res = await fetch(`${nodeApi}/headers`, { headers: { ...iam.admin.headers, 'x-node-id': nodeId, 'x-folder-id': 'default', 'x-request-id': requestId } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { headers: Record<string, string> }).headers;
  }

  it('refuses what Berth refuses: unknown nodes, keys without a role, a key revoked while HAProxy had it granted', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    const unknown = await fetch(`${nodeApi}/whoami`, { headers: { ...iam.admin.headers, 'x-node-id': 'no-such-node' } });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: number }).code, 5);
    const noKey = await fetch(`${nodeApi}/whoami`, { headers: { 'x-node-id': nodeId } });
    assert.equal(noKey.status, 401);

    const folder = await iam.folder(`other-${randomBytes(3).toString('hex')}`);
    const outsider = await iam.member('outsider', [[folder, 'user']]);
    // Berth does not tell an outsider that the node exists (404); whatever it answers, it answers every time.
    const outsiderStatuses = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...outsider.headers, 'x-node-id': nodeId } });
      await res.arrayBuffer();
      outsiderStatuses.add(res.status);
    }
    assert.deepEqual([...outsiderStatuses], [404], 'a key without a role on the node\'s folder is refused every time');

    const user = await iam.member('caller', [['default', 'user']]);
    await untilFast(user.headers);
    await iam.revoke(user.keyId);
    // Berth keeps a key's facts for two seconds; HAProxy's grant lives one. After that, every call is refused.
    await waitFor(
      'the revoked key refused',
      async () => {
        const res = await fetch(`${nodeApi}/whoami`, { headers: { ...user.headers, 'x-node-id': nodeId } });
        await res.arrayBuffer();
        return res.status === 401;
      },
      10_000,
      50,
    );
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...user.headers, 'x-node-id': nodeId } });
      await res.arrayBuffer();
      assert.equal(res.status, 401, 'once refused, a revoked key stays refused');
    }
  });

  it('counts every call of a key with a rate limit in Berth: none takes HAProxy\'s path', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    const principal = await iam.principal(`limited-${randomBytes(3).toString('hex')}`);
    await iam.grant('default', principal, 'user');
    const limited = await iam.key(principal, 'limited', { rateLimitPerSecond: 5, rateLimitBurst: 5 });
    const statuses: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const requestId = rid('limited');
      ids.push(requestId);
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...limited.headers, 'x-node-id': nodeId, 'x-request-id': requestId } });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    }
    assert.ok(statuses.includes(429), `the rate applies: ${statuses.join(',')}`);
    for (const id of ids) assert.equal((await oneAccessLine(id)).dataPlane, undefined, 'served or refused by Berth');
  });

  it('keeps the body limit: declared lengths within it relayed, over it 413 before a byte moves, chunked bodies counted by Berth', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    await untilFast(iam.admin.headers);
    const body = randomBytes(MAX_BYTES - 1024);
    const requestId = rid('echo');
    const echoed = await fetch(`${nodeApi}/echo`, { method: 'POST', body, headers: { ...iam.admin.headers, 'x-node-id': nodeId, 'x-request-id': requestId } });
    assert.equal(echoed.status, 200);
    assert.ok(Buffer.from(await echoed.arrayBuffer()).equals(body), 'the body came back unchanged');
    assert.equal((await oneAccessLine(requestId)).dataPlane, 'haproxy');

    const over = await fetch(`${nodeApi}/echo`, { method: 'POST', body: randomBytes(MAX_BYTES + 1), headers: { ...iam.admin.headers, 'x-node-id': nodeId } });
    assert.equal(over.status, 413);
    const refusal = (await over.json()) as { code: number; message: string };
    assert.equal(refusal.code, 8);
    assert.match(refusal.message, /over the limit/);

    const chunked = await chunkedPost(nodeApi, '/echo', { ...iam.admin.headers, 'x-node-id': nodeId }, MAX_BYTES * 2);
    assert.equal(chunked.status, 413, chunked.body);
    const within = await chunkedPost(nodeApi, '/echo', { ...iam.admin.headers, 'x-node-id': nodeId }, 64 * 1024);
    assert.equal(within.status, 200);
    assert.equal(within.body.length, 64 * 1024);
  });

  it('fails no call while a node\'s instances are replaced under load', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    await untilFast(iam.admin.headers);
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const caller = async (): Promise<void> => {
      // Bounded: at most this many calls per caller, whatever happens.
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const res = await fetch(`${nodeApi}/whoami`, { headers: { ...iam.admin.headers, 'x-node-id': nodeId } });
          await res.arrayBuffer();
          if (res.status === 200) ok++;
          else failures.push(`HTTP ${res.status}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const callers = Array.from({ length: 6 }, () => caller());
    const list = async (): Promise<any[]> => (await rest(base, 'GET', `/v1/nodes/${nodeId}/instances`, undefined, iam.admin.headers)).body.instances ?? [];
    const before = (await list()).map((i) => i.id);
    try {
      const rolled = await rest(base, 'PATCH', `/v1/nodes/${nodeId}`, { spec: { docker: { env: { ROLLED: randomBytes(3).toString('hex') } } } }, iam.admin.headers);
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      await waitFor(
        'every instance replaced and healthy',
        async () => {
          const now = await list();
          return now.length === 2 && now.every((i) => i.state === 'INSTANCE_STATE_HEALTHY' && !before.includes(i.id));
        },
        90_000,
      );
    } catch (err) {
      stop = true;
      await Promise.all(callers);
      throw err;
    }
    await sleep(1000);
    stop = true;
    await Promise.all(callers);
    assert.deepEqual(failures, [], `${failures.length} failed calls of ${ok + failures.length}`);
    assert.ok(ok > 50, `calls went on during the switch (${ok})`);
  });

  it('relays calls through an alias from HAProxy, split by weight, and follows a switch of its weights without a failed call', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    const second = await createNode('web-two', 1);
    const alias = await rest(base, 'POST', '/v1/aliases', { folderId: 'default', name: 'front', targets: [{ nodeId, weight: 80 }, { nodeId: second, weight: 20 }] }, iam.admin.headers);
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    const viaAlias = { ...iam.admin.headers, 'x-node-alias': 'front', 'x-folder-id': 'default' };
    await waitFor(
      'a call through the alias relayed by HAProxy',
      async () => {
        const requestId = rid('alias');
        const res = await fetch(`${nodeApi}/whoami`, { headers: { ...viaAlias, 'x-request-id': requestId } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        return (await oneAccessLine(requestId)).dataPlane === 'haproxy';
      },
      10_000,
      0,
    );
    const byNode = new Map<string, number>();
    let fast = 0;
    const CALLS = 200;
    for (let i = 0; i < CALLS; i++) {
      const requestId = rid('split');
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...viaAlias, 'x-request-id': requestId } });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { instance: string };
      const node = res.headers.get('x-berth-node-id')!;
      assert.ok(node === nodeId || node === second, node);
      assert.equal(res.headers.get('x-berth-instance-id'), body.instance);
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
      if (i % 20 === 0) {
        const line = await oneAccessLine(requestId);
        assert.equal(line.aliasName, 'front');
        assert.equal(line.nodeId, node);
        if (line.dataPlane === 'haproxy') fast++;
      }
    }
    // 80/20 of 200: the second node's count is binomial (mean 40, sd 5.7); 20–60 is more than three sd either side.
    const toSecond = byNode.get(second) ?? 0;
    assert.ok(toSecond >= 20 && toSecond <= 60, `split ${JSON.stringify([...byNode])}`);
    assert.ok(fast > 0, 'sampled calls took HAProxy\'s path');

    // Switch every call to the second node under load: none fails, and soon every call lands there.
    let stop = false;
    const failures: string[] = [];
    const callers = Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 5000 && !stop; i++) {
        try {
          const res = await fetch(`${nodeApi}/whoami`, { headers: viaAlias });
          await res.arrayBuffer();
          if (res.status !== 200) failures.push(`HTTP ${res.status}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    });
    await sleep(300);
    const switched = await rest(base, 'PATCH', `/v1/aliases/${alias.body.id}`, { targets: [{ nodeId, weight: 0 }, { nodeId: second, weight: 100 }] }, iam.admin.headers);
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    await waitFor(
      'every call through the alias on the second node',
      async () => {
        for (let i = 0; i < 20; i++) {
          const res = await fetch(`${nodeApi}/whoami`, { headers: viaAlias });
          await res.arrayBuffer();
          if (res.headers.get('x-berth-node-id') !== second) return false;
        }
        return true;
      },
      10_000,
      100,
    );
    stop = true;
    await Promise.all(callers);
    assert.deepEqual(failures, []);

    // An alias in use stays on HAProxy's path: Berth reads it again in the background, not on its calls (12 s, past the 10 s an unused alias is kept).
    await waitFor(
      'the switched alias relayed by HAProxy',
      async () => {
        const requestId = rid('switched');
        const res = await fetch(`${nodeApi}/whoami`, { headers: { ...viaAlias, 'x-request-id': requestId } });
        await res.arrayBuffer();
        return (await oneAccessLine(requestId)).dataPlane === 'haproxy';
      },
      10_000,
      0,
    );
    const ids: string[] = [];
    const until = Date.now() + 12_000;
    for (let i = 0; i < 20_000 && Date.now() < until; i++) {
      const requestId = rid('kept');
      ids.push(requestId);
      const res = await fetch(`${nodeApi}/whoami`, { headers: { ...viaAlias, 'x-request-id': requestId } });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await oneAccessLine(ids[ids.length - 1]!);
    const viaBerth = ids.filter((id) => accessLinesOf(id)[0]?.dataPlane !== 'haproxy');
    assert.deepEqual(viaBerth, [], `${viaBerth.length} of ${ids.length} calls through the alias went through Berth's server`);
  });

  it('restarts HAProxy when it dies, and HAProxy goes when Berth is killed', async (t) => {
    if (skip) return t.skip('no Docker engine or no HAProxy');
    const ours = (): number[] => processTree(serve!.proc.pid!).slice(1).filter((pid) => commandOf(pid).startsWith(HAPROXY));
    const first = ours();
    assert.ok(first.length >= 2, `a master and a worker run under Berth: ${first.map(commandOf).join(' | ')}`);
    const configDir = /-f (\S+)\/haproxy\.cfg/.exec(commandOf(first[0]!))![1]!;
    for (const pid of first) process.kill(pid, 'SIGKILL');
    await waitFor('HAProxy restarted', async () => ours().length >= 2 && !ours().some((p) => first.includes(p)), 15_000);
    await untilFast(iam.admin.headers);

    serve!.proc.kill('SIGKILL');
    await serve!.exited;
    await waitFor('HAProxy gone with Berth', async () => haproxyProcesses(configDir).length === 0, 35_000);
    serve = undefined;
  });
});
