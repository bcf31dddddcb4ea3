/**
 * How `berth` finds its Berth and reports what happened: the local server's
 * admin key found by itself, BERTH_SERVER / BERTH_KEY, named contexts and
 * --context, TLS with --ca, exit statuses (0, 1, 2, 3), keys, secrets by
 * apply, a checkpoint captured with progress, help, version and completion.
 * Real `berth serve` processes (process runtime), the built CLI spawned.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { cleanEnv, ESCAPE, notebook, PRICE_CELLS, runBerth, type CliRun } from '../helpers/cli';
import { startServe, type ServeProcess } from '../helpers/serve-process';
import { makeTestPki, type TestPki } from '../helpers/tls';

describe('berth contexts, keys and exit statuses', () => {
  let plain: ServeProcess;
  let secure: ServeProcess;
  let pki: TestPki;
  let dir: string;
  let elsewhere: string;
  /** A directory with no .berth/ in it or above it. */
  let nowhere: string;
  let env: NodeJS.ProcessEnv;
  const berth = (args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string> } = {}): Promise<CliRun> =>
    runBerth(args, { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, input: opts.input, timeoutMs: 120_000 });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-ctx-'));
    elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    nowhere = mkdtempSync(path.join(os.tmpdir(), 'berth-cli-nowhere-'));
    env = cleanEnv({ BERTH_CONFIG: path.join(dir, 'home', 'config.yaml'), HOME: path.join(dir, 'home') });
    pki = await makeTestPki();
    const common = ['--auth', 'keys', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--runtime', 'process'];
    // As a user runs it: `berth serve` in this directory writes .berth/admin.key here.
    plain = await startServe([...common, '--data-dir', path.join(dir, '.berth'), '--cluster-id', `cli-ctx-a-${process.pid}`]);
    secure = await startServe([
      ...common, '--data-dir', path.join(dir, 'secure'), '--cluster-id', `cli-ctx-b-${process.pid}`,
      '--tls-cert', pki.certFile, '--tls-key', pki.keyFile,
    ]);
  });

  after(async () => {
    for (const s of [plain, secure]) s?.proc.kill('SIGTERM');
    await Promise.all([plain?.exited, secure?.exited]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(nowhere, { recursive: true, force: true });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('prints help with examples, the version, and exits 2 on usage errors', async () => {
    const help = await berth(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:\s+serve/);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 .*, 2 usage, 3 /);
    for (const command of ['apply', 'call', 'nodes', 'aliases', 'checkpoints', 'folders', 'secrets', 'keys', 'operations', 'login', 'completion'])
      assert.match(help.stdout, new RegExp(`\\n  ${command}\\b`), command);
    for (const args of [['apply', '--help'], ['nodes', 'create', '--help'], ['alias', 'set', '--help'], ['call', '--help'], ['login', '--help']]) {
      const r = await berth(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /Examples:\n  \$ berth /, args.join(' '));
    }
    const serveHelp = await berth(['serve', '--help']);
    assert.equal(serveHelp.code, 0);
    assert.match(serveHelp.stdout, /--grpc-port/);
    const version = await berth(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
    const unknown = await berth(['nodes', 'list', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option '--bogus'/);
    const missing = await berth(['alias', 'set']);
    assert.equal(missing.code, 2);
    const nonsense = await berth(['nonsense']);
    assert.equal(nonsense.code, 2);
    assert.match(nonsense.stderr, /unknown command "nonsense"/);
  });

  it('completes commands and subcommands in bash', async () => {
    const script = await berth(['completion', 'bash']);
    assert.equal(script.code, 0);
    const file = path.join(dir, 'completion.bash');
    writeFileSync(file, script.stdout);
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _berth; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).trim();
    assert.equal(complete(['berth', 'ap']), 'apply');
    assert.deepEqual(complete(['berth', 'nodes', 's']).split(' ').sort(), ['suspend']);
    assert.match(complete(['berth', 'alias', '']), /\bset\b/);
    assert.match(complete(['berth', 'call', 'x', '--']), /--input/);
  });

  it("finds the local Berth's admin key by itself, and says why when it cannot", async () => {
    const server = { BERTH_SERVER: `127.0.0.1:${plain.grpcPort}` };
    const found = await berth(['folders', 'list', '-o', 'name'], { env: server });
    assert.equal(found.code, 0, found.stderr);
    assert.equal(found.stdout, 'default\n');
    // From a directory with no .berth/ above it there is no key: the server refuses.
    const nokey = await berth(['folders', 'list'], { cwd: nowhere, env: server });
    assert.equal(nokey.code, 3, nokey.stderr);
    assert.match(nokey.stderr, /refused the key/);
    const badKey = await berth(['folders', 'list'], { env: { ...server, BERTH_KEY: 'berth_aknotakey' } });
    assert.equal(badKey.code, 3);
    const down = await berth(['folders', 'list'], { env: { BERTH_SERVER: '127.0.0.1:1' } });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /cannot reach Berth \(127\.0\.0\.1:1\)/);
    const notFound = await berth(['nodes', 'get', 'nope'], { env: server });
    assert.equal(notFound.code, 1);
    assert.match(notFound.stderr, /no node "nope" in folder "default"/);
  });

  it('keeps named contexts (one over TLS with --ca), switches with --context and context use', async () => {
    const plainKey = readFileSync(path.join(dir, '.berth', 'admin.key'), 'utf8');
    const secureKey = readFileSync(path.join(dir, 'secure', 'admin.key'), 'utf8');
    const a = await berth(['login', '--server', `127.0.0.1:${plain.grpcPort}`, '--name', 'plain'], { cwd: nowhere });
    assert.equal(a.code, 3, 'no key given and none found from here: refused');
    assert.match(a.stderr, /refused the key/);
    const a2 = await berth(['login', '--server', `127.0.0.1:${plain.grpcPort}`, '--key', '-', '--name', 'plain'], { cwd: elsewhere, input: plainKey });
    assert.equal(a2.code, 0, a2.stderr);
    writeFileSync(path.join(dir, 'secure.key'), secureKey);
    const noCa = await berth(['login', '--server', `127.0.0.1:${secure.grpcPort}`, '--key-file', 'secure.key', '--name', 'secure']);
    assert.equal(noCa.code, 3, 'a TLS server is not reached in cleartext');
    const b = await berth(['login', '--server', `127.0.0.1:${secure.grpcPort}`, '--key-file', 'secure.key', '--ca', pki.caFile, '--name', 'secure']);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /context "secure" .* now current/);
    const file = env.BERTH_CONFIG!;
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = YAML.parse(readFileSync(file, 'utf8'));
    assert.equal(saved.contexts.secure.ca, pki.caFile);

    // A folder on the TLS server only, and a secret in it through the current context.
    assert.equal((await berth(['folders', 'create', 'team-b'], { cwd: elsewhere })).code, 0);
    const created = await berth(['--folder', 'team-b', 'secrets', 'create', 'only-b', 'token=xyz'], { cwd: elsewhere });
    assert.equal(created.code, 0, created.stderr);
    const listed = await berth(['context', 'list'], { cwd: elsewhere });
    assert.match(listed.stdout, /\n\*\s+secure\s+127\.0\.0\.1:\d+\s+\S*ca\.crt/);
    assert.match(listed.stdout, /\n\s+plain\s+127\.0\.0\.1:\d+/);
    assert.ok(!listed.stdout.includes(plainKey.trim()) && !listed.stdout.includes(secureKey.trim()), 'keys are never listed');

    const onSecure = await berth(['folders', 'list', '-o', 'name'], { cwd: elsewhere });
    assert.equal(onSecure.stdout, 'default\nteam-b\n');
    const onPlain = await berth(['--context', 'plain', 'folders', 'list', '-o', 'name'], { cwd: elsewhere });
    assert.equal(onPlain.stdout, 'default\n');
    assert.equal((await berth(['context', 'use', 'plain'], { cwd: elsewhere })).code, 0);
    assert.equal((await berth(['folders', 'list', '-o', 'name'], { cwd: elsewhere })).stdout, 'default\n');
    const noSuch = await berth(['--context', 'nope', 'folders', 'list'], { cwd: elsewhere });
    assert.equal(noSuch.code, 2);
    assert.match(noSuch.stderr, /no context "nope"/);
    // A folder default saved in a context.
    const withFolder = await berth(['login', '--server', `127.0.0.1:${secure.grpcPort}`, '--key-file', 'secure.key', '--ca', pki.caFile, '--name', 'team-b', '--folder', 'team-b']);
    assert.equal(withFolder.code, 0, withFolder.stderr);
    assert.equal((await berth(['secrets', 'list', '-o', 'name'], { cwd: elsewhere })).stdout, 'only-b\n');
    assert.equal((await berth(['context', 'use', 'plain'], { cwd: elsewhere })).code, 0);
  });

  it('makes and revokes keys; a revoked key is refused with exit 3', async () => {
    const made = await berth(['keys', 'create', '--description', 'ci'], { cwd: elsewhere });
    assert.equal(made.code, 0, made.stderr);
    const secret = made.stdout.trim();
    assert.match(secret, /^berth_ak/);
    const server = `127.0.0.1:${plain.grpcPort}`;
    const withIt = await berth(['folders', 'list', '-o', 'name'], { cwd: elsewhere, env: { BERTH_SERVER: server, BERTH_KEY: secret } });
    assert.equal(withIt.code, 0, withIt.stderr);
    const keys = JSON.parse((await berth(['keys', 'list', '-o', 'json'], { cwd: elsewhere })).stdout) as any[];
    const ci = keys.find((k) => k.description === 'ci');
    assert.ok(ci, JSON.stringify(keys));
    const table = await berth(['keys', 'list'], { cwd: elsewhere });
    assert.match(table.stdout, new RegExp(`${ci.id}\\s+ci\\s+\\d+`));
    assert.equal((await berth(['keys', 'delete', ci.id], { cwd: elsewhere })).code, 0);
    const refused = await berth(['folders', 'list'], { cwd: elsewhere, env: { BERTH_SERVER: server, BERTH_KEY: secret } });
    assert.equal(refused.code, 3);
  });

  it('applies secrets from the environment and files: again is a no-op, a new value is a new version', async () => {
    writeFileSync(path.join(elsewhere, 'password.txt'), 'hunter2');
    const doc = { kind: 'Secret', name: 'registry', entries: { username: 'ci', password: { file: 'password.txt' }, token: { env: 'API_TOKEN' } } };
    writeFileSync(path.join(elsewhere, 'secret.yaml'), YAML.stringify(doc));
    const first = await berth(['apply', '-f', 'secret.yaml'], { cwd: elsewhere, env: { API_TOKEN: 'one' } });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /secret registry: created/);
    const again = await berth(['apply', '-f', 'secret.yaml'], { cwd: elsewhere, env: { API_TOKEN: 'one' } });
    assert.match(again.stdout, /nothing to change: 1 resource as the manifests say/);
    const changed = await berth(['apply', '-f', 'secret.yaml', '--dry-run'], { cwd: elsewhere, env: { API_TOKEN: 'two' } });
    assert.match(changed.stdout, /secret registry: would be updated\n\s+~ entries: .*\(new values\)/);
    assert.doesNotMatch(changed.stdout, /two|hunter2/, 'values are never shown');
    const applied = await berth(['apply', '-f', 'secret.yaml', '-o', 'json'], { cwd: elsewhere, env: { API_TOKEN: 'two' } });
    assert.equal(JSON.parse(applied.stdout)[0].action, 'update');
    const secret = JSON.parse((await berth(['secrets', 'get', 'registry', '-o', 'json'], { cwd: elsewhere })).stdout);
    assert.equal(secret.version, '2');
    assert.deepEqual(secret.entries.map((e: any) => e.key).sort(), ['password', 'token', 'username']);
    const unset = await berth(['apply', '-f', 'secret.yaml'], { cwd: elsewhere });
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /the environment variable API_TOKEN is not set/);
    const bad = await berth(['apply', '-f', '-'], { cwd: elsewhere, input: 'kind: Gadget\nname: x\n' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /stdin#1: kind must be one of Secret, Checkpoint, Node, Alias/);
  });

  it('captures a checkpoint with progress and lists its variables; a changed notebook under the same name is refused', async () => {
    writeFileSync(path.join(elsewhere, 'Price Model.ipynb'), notebook(PRICE_CELLS));
    const created = await berth(['checkpoint', 'create', 'Price Model.ipynb', '--cell', '2'], { cwd: elsewhere });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^checkpoint price-model \(ck\w+\): ready, served cell 2/);
    assert.match(created.stdout, /VARIABLE\s+TYPE\s+KIND\n/);
    assert.match(created.stdout, /\nweights\s+list\s+value\n/);
    assert.match(created.stderr, /checkpoint price-model\s+.*done in [\d.]+s/);
    assert.doesNotMatch(created.stderr + created.stdout, ESCAPE);
    const listed = JSON.parse((await berth(['checkpoints', 'list', '-o', 'json'], { cwd: elsewhere })).stdout) as any[];
    assert.equal(listed[0].state, 'CHECKPOINT_STATE_READY');

    // A checkpoint node made with flags; suspend and resume wait for their operations.
    const made = await berth(['nodes', 'create', 'pm', '--checkpoint', 'price-model', '--input', 'x:float', '--output-var', 'y:float', '--min', '1'], { cwd: elsewhere });
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /node pm\s+healthy\s+healthy 1\/1 .*done in/);
    assert.deepEqual(JSON.parse((await berth(['call', 'pm', '-i', 'x=3'], { cwd: elsewhere })).stdout), { y: 3.5 });
    const suspended = await berth(['nodes', 'suspend', 'pm'], { cwd: elsewhere });
    assert.equal(suspended.code, 0, suspended.stderr);
    assert.match(suspended.stderr, /node pm\s+suspended\s+healthy 0\/0 .*done in/);
    assert.equal(JSON.parse((await berth(['nodes', 'get', 'pm', '-o', 'json'], { cwd: elsewhere })).stdout).status.state, 'NODE_STATE_SUSPENDED');
    const resumed = await berth(['nodes', 'resume', 'pm'], { cwd: elsewhere });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /node pm\s+healthy\s+healthy 1\/1 .*done in/);
    const gone = await berth(['nodes', 'delete', 'pm', '--no-wait'], { cwd: elsewhere });
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /node pm: delete started, operation op\w+/);
    assert.equal(gone.stderr, '', 'no waiting, no progress');

    const doc = { kind: 'Checkpoint', name: 'price-model', notebook: 'Price Model.ipynb', cell: 2 };
    writeFileSync(path.join(elsewhere, 'cp.yaml'), YAML.stringify(doc));
    assert.match((await berth(['apply', '-f', 'cp.yaml'], { cwd: elsewhere })).stdout, /nothing to change/);
    writeFileSync(path.join(elsewhere, 'Price Model.ipynb'), notebook([...PRICE_CELLS.slice(0, 2), 'y = predict(x) * 2']));
    const changed = await berth(['apply', '-f', 'cp.yaml'], { cwd: elsewhere });
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /a checkpoint is immutable/);
  });
});
