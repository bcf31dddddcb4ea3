/**
 * `berth` driven as a user drives it: spawned processes against a real
 * `berth serve` on the Docker runtime. Login, apply a manifest (a checkpoint
 * from an .ipynb, checkpoint nodes, a Docker node, an alias), call, logs, alias set,
 * apply again (nothing to do; then only what changed), a node that crashes,
 * the progress display under a pseudo-terminal, delete.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { BERTH_BIN, cleanEnv, ESCAPE, notebook, PRICE_CELLS, runBerth, type CliRun } from '../helpers/cli';
import { dockerAvailable, removeByClusterId } from '../helpers/docker';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { buildSystemImage, buildTestImages, type TestImages } from '../images/test-images';

const CRASH_LINE = 'db password missing: set DB_URL';

function manifest(images: TestImages, webMax: number): string {
  return [
    { kind: 'Secret', name: 'greeting', entries: { token: { env: 'GREETING_TOKEN' } } },
    { kind: 'Checkpoint', name: 'price', notebook: 'price.ipynb', cell: 2 },
    {
      kind: 'Node',
      name: 'price-model',
      spec: {
        checkpoint: { checkpoint: 'price', inputVariables: [{ name: 'x', type: 'float' }], outputVariables: [{ name: 'y', type: 'float' }] },
        instanceRange: { min: 1, max: 1 },
      },
    },
    {
      kind: 'Node',
      name: 'price-v2',
      spec: {
        checkpoint: { checkpoint: 'price', inputVariables: [{ name: 'x', type: 'float' }], outputVariables: [{ name: 'y', type: 'float' }] },
        instanceRange: { min: 1, max: 1 },
      },
    },
    {
      kind: 'Node',
      name: 'web',
      spec: {
        docker: {
          image: images.http,
          endpoint: { type: 'http', port: 8080 },
          healthCheck: { type: 'http', path: '/healthz', interval: '0.5s' },
          env: { GREETING: 'hello' },
          envFromSecrets: [{ envName: 'TOKEN', secret: 'greeting', key: 'token' }],
        },
        instanceRange: { min: 1, max: webMax },
      },
    },
    { kind: 'Alias', name: 'prod', targets: [{ node: 'price-model', weight: 100 }] },
  ]
    .map((doc) => YAML.stringify(doc))
    .join('---\n');
}

describe('the berth CLI against a real Berth', () => {
  let serve: ServeProcess | undefined;
  let images: TestImages;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let skip = false;
  const clusterId = `cli${randomBytes(4).toString('hex')}`;
  const berth = (args: string[], input?: string, timeoutMs = 180_000): Promise<CliRun> => runBerth(args, { cwd: dir, env, input, timeoutMs });

  before(async () => {
    if (!(await dockerAvailable())) {
      skip = true;
      return;
    }
    images = await buildTestImages();
    const systemImage = await buildSystemImage();
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-'));
    // A home of its own: the contexts file goes to $BERTH_CONFIG, nothing is read from the real ~/.config.
    env = cleanEnv({ BERTH_CONFIG: path.join(dir, 'home', 'config.yaml'), HOME: path.join(dir, 'home'), GREETING_TOKEN: 't0ken' });
    serve = await startServe([
      '--auth', 'keys', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0',
      '--data-dir', path.join(dir, 'server'), '--runtime', 'docker', '--cluster-id', clusterId,
      '--pull-images', 'false', '--system-image', systemImage, '--resync-ms', '1000', '--startup-timeout-ms', '90000',
    ]);
    writeFileSync(path.join(dir, 'price.ipynb'), notebook(PRICE_CELLS));
  });

  after(async () => {
    serve?.proc.kill('SIGKILL');
    await serve?.exited;
    if (!skip) await removeByClusterId(clusterId);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('logs in with the key on stdin and keeps it in a 0600 file', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const key = readFileSync(path.join(dir, 'server', 'admin.key'), 'utf8');
    const login = await berth(['login', '--server', `127.0.0.1:${serve!.grpcPort}`, '--key', '-', '--name', 'test', '--node-api', `127.0.0.1:${serve!.nodeApiPort}`], key);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /logged in to 127\.0\.0\.1:\d+ as admin \(server admin\); context "test"/);
    const file = env.BERTH_CONFIG!;
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = YAML.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.current, 'test');
    assert.equal(saved.contexts.test.key, key.trim());
    const contexts = await berth(['context', 'list', '-o', 'json']);
    assert.equal(contexts.code, 0, contexts.stderr);
    assert.ok(!contexts.stdout.includes(key.trim()), 'context list never shows the key');
  });

  it('applies a manifest: a checkpoint from an .ipynb, checkpoint nodes, a Docker node and an alias, waiting until healthy', async (t) => {
    if (skip) return t.skip('no Docker engine');
    writeFileSync(path.join(dir, 'berth.yaml'), manifest(images, 1));
    const dry = await berth(['apply', '-f', 'berth.yaml', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /node web: would be created\n(\s+\+ .*\n)*\s+\+ spec\.docker\.image: "berth-test-http:/);
    assert.match(dry.stdout, /dry run: 6 would be created, 0 would be updated, 0 unchanged/);
    assert.doesNotMatch(dry.stdout, /t0ken/, 'secret values are never shown');
    assert.equal((await berth(['nodes', 'list', '-o', 'json'])).stdout.trim(), '[]', 'a dry run changes nothing');

    const applied = await berth(['apply', '-f', 'berth.yaml']);
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    for (const line of ['secret greeting: created', 'checkpoint price: created', 'node price-model: created', 'node price-v2: created', 'node web: created', 'alias prod: created'])
      assert.ok(applied.stdout.includes(line), `${line} in:\n${applied.stdout}`);
    assert.match(applied.stdout, /6 created, 0 updated, 0 unchanged\n$/);
    // Progress, piped: plain lines with the healthy counts, no escape codes anywhere.
    assert.match(applied.stderr, /checkpoint price\s+.*done in/);
    assert.match(applied.stderr, /node web\s+healthy\s+healthy 1\/1 .*done in/);
    assert.match(applied.stderr, /node price-model\s+healthy\s+healthy 1\/1 .*done in/);
    assert.doesNotMatch(applied.stdout + applied.stderr, ESCAPE);

    const listed = await berth(['nodes', 'list', '-o', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    const nodes = JSON.parse(listed.stdout) as any[];
    assert.deepEqual(nodes.map((n) => n.name).sort(), ['price-model', 'price-v2', 'web']);
    for (const n of nodes) assert.equal(n.status.state, 'NODE_STATE_HEALTHY', JSON.stringify(n.status));
    const table = await berth(['nodes', 'list']);
    assert.match(table.stdout, /^NAME\s+KIND\s+STATE\s+HEALTHY\s+IMAGE\/CHECKPOINT\s+ID\s+AGE\n/);
    assert.match(table.stdout, /\nweb\s+docker\s+healthy\s+1\/1\s+berth-test-http:\S+\s+nd\w+/);
    assert.match(table.stdout, /\nprice-model\s+checkpoint\s+healthy\s+1\/1\s+ck\w+/);

    // The node names its secret; apply put the secret's id in its place.
    const secret = JSON.parse((await berth(['secrets', 'get', 'greeting', '-o', 'json'])).stdout);
    const webJson = JSON.parse((await berth(['nodes', 'get', 'web', '-o', 'json'])).stdout);
    assert.deepEqual(webJson.spec.docker.envFromSecrets, [{ envName: 'TOKEN', secretId: secret.id, key: 'token' }]);
    const web = await berth(['nodes', 'get', 'web']);
    assert.equal(web.code, 0, web.stderr);
    assert.match(web.stdout, /\ninstances: healthy 1\/1\n/);
    assert.match(web.stdout, /INSTANCE\s+STATE\s+RESTARTS\s+AGE\s+REASON\n\S+\s+healthy\s+0\s+\d+s/);

    const checkpoint = await berth(['checkpoint', 'get', 'price']);
    assert.match(checkpoint.stdout, /checkpoint price \(ck\w+\): ready, served cell 2/);
    assert.match(checkpoint.stdout, /\nweights\s+list\s+value\n/);
    assert.match(checkpoint.stdout, /\npredict\s+function\s+definition\n/);
  });

  it('calls checkpoint nodes and aliases with typed inputs, and a Docker node through the node API', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const direct = await berth(['call', 'price-model', '-i', 'x=3']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(direct.stdout), { y: 3.5 });
    const viaAlias = await berth(['call', 'prod', '-i', 'x=4', '-o', 'yaml']);
    assert.equal(viaAlias.code, 0, viaAlias.stderr);
    assert.equal(viaAlias.stdout, 'y: 4\n');
    writeFileSync(path.join(dir, 'request.json'), '{"x": 10}');
    const fromFile = await berth(['call', 'price-model', '-d', '@request.json']);
    assert.deepEqual(JSON.parse(fromFile.stdout), { y: 7 });

    const wrongType = await berth(['call', 'price-model', '-i', 'x=three']);
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /x is a float, not "three"/);
    const raised = await berth(['call', 'price-model', '-i', 'x=-1']);
    assert.equal(raised.code, 1, raised.stderr);
    assert.match(raised.stderr, /Traceback|File "<cell 2>"/);
    assert.match(raised.stderr, /raise ValueError\("negative"\)/);
    assert.match(raised.stderr, /ValueError: negative\n$/);

    const whoami = await berth(['call', 'web', '/whoami']);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.match(JSON.parse(whoami.stdout).instance, /^in\w+/);
    const echo = await berth(['call', 'web', '-X', 'POST', '/echo', '-d', '{"a": 1}']);
    assert.equal(echo.code, 0, echo.stderr);
    assert.deepEqual(JSON.parse(echo.stdout), { a: 1 });
    const missing = await berth(['call', 'web', '/no-such-path']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /GET \/no-such-path: HTTP 404/);
  });

  it("reads a node's logs and events, and follows its logs until Ctrl-C", async (t) => {
    if (skip) return t.skip('no Docker engine');
    const logs = await berth(['logs', 'web']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^\[in\w+\] berth-test-http listening on :8080$/m);
    const json = JSON.parse((await berth(['logs', 'web', '-o', 'json', '--since', '10m'])).stdout) as any[];
    assert.ok(json.some((e) => e.stream === 'stdout' && e.text.includes('listening on :8080')), JSON.stringify(json));
    const events = await berth(['logs', 'web', '--events']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /^TIME\s+TYPE\s+REASON\s+INSTANCE\s+MESSAGE\n/);
    assert.ok(events.stdout.split('\n').length > 2, events.stdout);

    const proc = spawn(process.execPath, [BERTH_BIN, 'logs', 'web', '-f', '--timestamps'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const seen = new Promise<void>((resolve) =>
      proc.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('listening on :8080')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await Promise.race([seen, exited]);
    proc.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /^\d{4}-\d\d-\d\dT\S+Z \[in\w+\] berth-test-http listening on :8080$/m);
  });

  it('sets an alias\'s weights in one update and shows them with the health of each target', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const set = await berth(['alias', 'set', 'prod', 'price-model=90', 'price-v2=10']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /NODE\s+WEIGHT\s+SHARE\s+STATE\s+HEALTHY\n/);
    assert.match(set.stdout, /price-model\s+90\s+90%\s+healthy\s+1\/1\n/);
    assert.match(set.stdout, /price-v2\s+10\s+10%\s+healthy\s+1\/1\n/);
    const json = JSON.parse((await berth(['alias', 'get', 'prod', '-o', 'json'])).stdout);
    assert.deepEqual(json.targets.map((x: any) => x.weight), [90, 10]);
    const bad = await berth(['alias', 'set', 'prod', 'price-model=50']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID_ARGUMENT: .*sum to 100/);
    const back = await berth(['alias', 'set', 'prod', 'price-model=100']);
    assert.equal(back.code, 0, back.stderr);
  });

  it('applies the same manifest as a no-op, and a changed one updates only what changed', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const before = JSON.parse((await berth(['nodes', 'list', '-o', 'json'])).stdout) as any[];
    const again = await berth(['apply', '-f', 'berth.yaml']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to change: 6 resources as the manifests say/);
    assert.doesNotMatch(again.stdout, /created|updated/);

    writeFileSync(path.join(dir, 'berth.yaml'), manifest(images, 2));
    const dry = await berth(['apply', '-f', 'berth.yaml', '--dry-run']);
    assert.match(dry.stdout, /node web: would be updated\n\s+~ spec\.instanceRange\.max: 1 → 2\n/);
    const changed = await berth(['apply', '-f', 'berth.yaml', '-o', 'json']);
    assert.equal(changed.code, 0, changed.stderr);
    const results = JSON.parse(changed.stdout) as any[];
    assert.deepEqual(
      results.map((r) => `${r.kind}/${r.name}:${r.action}`),
      ['Secret/greeting:unchanged', 'Checkpoint/price:unchanged', 'Node/price-model:unchanged', 'Node/price-v2:unchanged', 'Node/web:update', 'Alias/prod:unchanged'],
    );
    assert.deepEqual(results.find((r) => r.name === 'web').changes, [{ path: 'spec.instanceRange.max', from: 1, to: 2 }]);
    const after = JSON.parse((await berth(['nodes', 'list', '-o', 'json'])).stdout) as any[];
    const gen = (list: any[], name: string) => list.find((n) => n.name === name).generation;
    assert.equal(gen(after, 'price-model'), gen(before, 'price-model'), 'an unchanged node is not touched');
    assert.notEqual(gen(after, 'web'), gen(before, 'web'));
    assert.equal(after.find((n) => n.name === 'web').spec.instanceRange.max, 2);
    const third = await berth(['apply', '-f', 'berth.yaml']);
    assert.match(third.stdout, /nothing to change/);
  });

  it('fails apply with exit 1 and the crashing instance\'s last output', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const crash = {
      kind: 'Node',
      name: 'no-db',
      spec: {
        docker: {
          image: images.http,
          command: ['node', '-e', `console.log(${JSON.stringify(CRASH_LINE)}); process.exit(1)`],
          endpoint: { type: 'http', port: 8080 },
          healthCheck: { type: 'http', path: '/healthz', interval: '0.3s', timeout: '1s' },
        },
        instanceRange: { min: 1, max: 1 },
      },
    };
    writeFileSync(path.join(dir, 'crash.yaml'), YAML.stringify(crash));
    const run = await berth(['apply', '-f', 'crash.yaml']);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /node no-db: created/);
    assert.match(run.stderr, /berth: node no-db failed: .*exited 3 times in a row/);
    assert.ok(run.stderr.includes(CRASH_LINE), run.stderr);
    assert.doesNotMatch(run.stderr, ESCAPE);
    const logged = await berth(['logs', 'no-db', '--grep', 'db password']);
    assert.equal(logged.code, 0, logged.stderr);
    assert.ok(logged.stdout.includes(CRASH_LINE), logged.stdout);
    const deleted = await berth(['nodes', 'delete', 'no-db']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('redraws the progress in place on a terminal and ends with clean lines', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const doc = {
      kind: 'Node',
      name: 'tty-web',
      spec: {
        docker: { image: images.http, endpoint: { type: 'http', port: 8080 }, healthCheck: { type: 'http', path: '/healthz', interval: '0.5s' } },
        instanceRange: { min: 2, max: 2 },
      },
    };
    writeFileSync(path.join(dir, 'tty.yaml'), YAML.stringify(doc));
    // `script` gives the command a pseudo-terminal and copies what it prints.
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(BERTH_BIN)} apply -f tty.yaml`;
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const proc = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, env: { ...env, TERM: 'xterm', COLUMNS: '160' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      proc.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      const timer = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error(`no end under script:\n${text}`))), 180_000);
      proc.on('exit', (code) => (clearTimeout(timer), resolve({ code, text })));
    });
    assert.equal(out.code, 0, out.text);
    assert.match(out.text, ESCAPE, 'the live display redraws with escape codes');
    assert.match(out.text, /healthy \d\/2/, 'healthy counts appear while it waits');
    const lines = out.text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const last = lines[lines.length - 1]!;
    assert.doesNotMatch(last, ESCAPE, `final line: ${JSON.stringify(last)}`);
    assert.equal(last.trim(), '1 created, 0 updated, 0 unchanged');
    // The block redrawn last is erased (cursor-up and erase-line sequences) before the final state is printed plainly.
    const progress = lines[lines.length - 2]!.replace(/^(\x1b\[[0-9;]*[A-Za-z])+/, '');
    assert.doesNotMatch(progress, ESCAPE, JSON.stringify(progress));
    assert.match(progress, /^node tty-web\s+healthy\s+healthy 2\/2 .*done in [\d.]+s$/, JSON.stringify(progress));
  });

  it('stops waiting on Ctrl-C while the operation goes on, and picks it up with operations wait', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const proc = spawn(
      process.execPath,
      [BERTH_BIN, 'nodes', 'create', 'slow', '--image', images.http, '--port', '8080', '--health-path', '/healthz', '-e', 'STARTUP_DELAY_MS=4000', '--min', '1'],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const firstProgress = new Promise<void>((resolve) =>
      proc.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (/node slow\s+\S+\s+healthy 0\/1/.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await Promise.race([firstProgress, exited]);
    proc.kill('SIGINT');
    assert.equal(await exited, 130, `${stdout}\n${stderr}`);
    const opId = /operation (op\w+)/.exec(stdout)?.[1];
    assert.ok(opId, stdout);
    assert.match(stderr, new RegExp(`stopped waiting; still going on: berth operations wait ${opId}`));
    const waited = await berth(['operations', 'wait', opId]);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /healthy 1\/1 .*done in/);
    const node = JSON.parse((await berth(['nodes', 'get', 'slow', '-o', 'json'])).stdout);
    assert.equal(node.status.state, 'NODE_STATE_HEALTHY');
    assert.equal(node.spec.docker.env.STARTUP_DELAY_MS, '4000');
  });

  it('deletes nodes, waiting until they are gone', async (t) => {
    if (skip) return t.skip('no Docker engine');
    const aliasGone = await berth(['alias', 'delete', 'prod']);
    assert.equal(aliasGone.code, 0, aliasGone.stderr);
    const deleted = await berth(['nodes', 'delete', 'web', 'price-v2', 'tty-web', 'slow']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /node web: delete started, operation op\w+/);
    assert.match(deleted.stderr, /node web\s+.*done in/);
    const names = await berth(['nodes', 'list', '-o', 'name']);
    assert.equal(names.stdout, 'price-model\n');
    const gone = await berth(['nodes', 'get', 'web']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no node "web" in folder "default"/);
  });
});
