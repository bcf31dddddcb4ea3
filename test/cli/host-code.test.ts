/**
 * `berth serve` refuses to run callers' code on this host when its listeners
 * are reachable from other machines: `--runtime auto` with no Docker engine
 * would fall back to the process runtime, so on a non-loopback `--host` it
 * stops at start and says why, unless `--allow-host-code true`. (An explicit
 * `--runtime process` is refused by the configuration: test/cli/config.test.ts.)
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const BIN = path.join(__dirname, '..', '..', 'bin', 'berth.js');

describe('berth serve on a non-loopback host', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-host-code-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is refused when --runtime auto finds no Docker engine, before anything is opened', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
    const proc = spawn(
      process.execPath,
      [BIN, 'serve', '--host', '0.0.0.0', '--runtime', 'auto', '--grpc-port', '0', '--http-port', '0', '--node-api-port', '0', '--data-dir', dataDir],
      // No engine answers on this socket.
      { env: { ...env, DOCKER_HOST: `unix://${path.join(dataDir, 'no-docker.sock')}`, BERTH_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    assert.equal(code, 1, out);
    const fatal = out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; err?: { message: string } })
      .find((entry) => entry.msg === 'berth failed to start');
    assert.ok(fatal, out);
    assert.match(fatal.err!.message, /^no Docker engine answers .*, so --runtime auto would run the process runtime: the process runtime runs callers' notebook code on this host as Berth's user/);
    assert.match(fatal.err!.message, /--host 0\.0\.0\.0 lets other machines call Berth.*--allow-host-code true/);
    assert.doesNotMatch(out, /berth is serving/);
    // Refused before the database was opened.
    assert.equal(existsSync(path.join(dataDir, 'berth.sqlite')), false);
  });

  it('refuses --auth none on a non-loopback --host with exit status 2, before anything is opened', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BERTH_')));
    const proc = spawn(process.execPath, [BIN, 'serve', '--auth', 'none', '--host', '0.0.0.0', '--runtime', 'docker', '--data-dir', dataDir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    assert.equal(code, 2, err);
    assert.match(err, /--auth none lets every caller act as a server admin; it is allowed only on a loopback address, not --host 0\.0\.0\.0/);
    assert.equal(existsSync(path.join(dataDir, 'berth.sqlite')), false);
  });
});
