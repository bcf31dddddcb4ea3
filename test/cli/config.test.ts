/**
 * `berth serve`'s configuration: the connection limits (defaults, flags over
 * `BERTH_*` variables, clear errors for values Node cannot use), the TLS
 * files, and the refusal to run callers' code on this host when the
 * listeners are reachable from other machines.
 */

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { isLoopbackHost } from '../../src/gateway/browser-policy';
import { makeTestPki, type TestPki } from '../helpers/tls';

describe('connection timeouts configuration', () => {
  it('defaults to a 10 s head limit and a 65 s idle limit', () => {
    assert.deepEqual(loadConfig([], {}).connectionTimeouts, { headerTimeoutMs: 10_000, idleTimeoutMs: 65_000 });
  });

  it('takes flags over environment variables', () => {
    const env = { BERTH_HEADER_TIMEOUT_MS: '2000', BERTH_CONNECTION_IDLE_TIMEOUT_MS: '3000' };
    assert.deepEqual(loadConfig([], env).connectionTimeouts, { headerTimeoutMs: 2000, idleTimeoutMs: 3000 });
    assert.deepEqual(loadConfig(['--header-timeout-ms', '1500', '--connection-idle-timeout-ms', '0'], env).connectionTimeouts, {
      headerTimeoutMs: 1500,
      idleTimeoutMs: 0,
    });
  });

  it('refuses negative, fractional and timer-overflowing values, naming the flag', () => {
    assert.throws(() => loadConfig(['--header-timeout-ms=-1'], {}), /--header-timeout-ms must be a whole number/);
    assert.throws(() => loadConfig(['--connection-idle-timeout-ms', '1.5'], {}), /--connection-idle-timeout-ms must be a whole number/);
    assert.throws(() => loadConfig(['--connection-idle-timeout-ms', '3000000000'], {}), /--connection-idle-timeout-ms must be at most 2147483647/);
  });
});

describe('the node API\'s data plane', () => {
  it('is HAProxy when installed by default (auto), and takes --data-plane, BERTH_DATA_PLANE and --haproxy', () => {
    const config = loadConfig([], {});
    assert.equal(config.dataPlane, 'auto');
    assert.equal(config.haproxyBinary, '/usr/sbin/haproxy');
    assert.equal(loadConfig([], { BERTH_DATA_PLANE: 'builtin' }).dataPlane, 'builtin');
    assert.equal(loadConfig(['--data-plane', 'haproxy'], { BERTH_DATA_PLANE: 'builtin' }).dataPlane, 'haproxy');
    assert.equal(loadConfig(['--haproxy', '/opt/haproxy/sbin/haproxy'], {}).haproxyBinary, '/opt/haproxy/sbin/haproxy');
  });

  it('refuses a data plane it does not know, naming the choices', () => {
    assert.throws(() => loadConfig(['--data-plane', 'nginx'], {}), /--data-plane must be builtin, haproxy or auto, not "nginx"/);
  });
});

describe('scale from zero configuration', () => {
  it('holds calls to a sleeping node 30 s by default, 64 at most per node, and takes flags and BERTH_WAKE_*', () => {
    assert.deepEqual(loadConfig([], {}).wake, { holdMs: 30_000, maxHeld: 64 });
    assert.deepEqual(loadConfig([], { BERTH_WAKE_TIMEOUT_MS: '5000', BERTH_WAKE_QUEUE: '8' }).wake, { holdMs: 5000, maxHeld: 8 });
    assert.deepEqual(loadConfig(['--wake-timeout-ms', '0', '--wake-queue', '1'], { BERTH_WAKE_QUEUE: '8' }).wake, { holdMs: 0, maxHeld: 1 });
  });

  it('refuses a held queue of none and a bound Node cannot time, naming the flag', () => {
    assert.throws(() => loadConfig(['--wake-queue', '0'], {}), /--wake-queue must be a whole number of calls above 0/);
    assert.throws(() => loadConfig(['--wake-timeout-ms=-5'], {}), /--wake-timeout-ms must be a whole number/);
    assert.throws(() => loadConfig(['--wake-timeout-ms', '3000000000'], {}), /--wake-timeout-ms must be at most 2147483647/);
  });
});

describe('TLS configuration', () => {
  let pki: TestPki;

  before(async () => {
    pki = await makeTestPki();
  });

  after(() => rmSync(pki.dir, { recursive: true, force: true }));

  it('is off by default, and takes both files from flags or BERTH_TLS_CERT / BERTH_TLS_KEY', () => {
    assert.equal(loadConfig([], {}).tls, undefined);
    const fromFlags = loadConfig(['--tls-cert', pki.certFile, '--tls-key', pki.keyFile], {}).tls;
    assert.equal(fromFlags?.certFile, pki.certFile);
    assert.deepEqual(fromFlags?.cert, pki.cert);
    assert.deepEqual(fromFlags?.key, pki.key);
    assert.equal(loadConfig([], { BERTH_TLS_CERT: pki.certFile, BERTH_TLS_KEY: pki.keyFile }).tls?.keyFile, pki.keyFile);
  });

  it('refuses a certificate without its key, and a key without its certificate', () => {
    assert.throws(() => loadConfig(['--tls-cert', pki.certFile], {}), /--tls-cert needs --tls-key/);
    assert.throws(() => loadConfig([], { BERTH_TLS_KEY: pki.keyFile }), /--tls-key needs --tls-cert/);
  });

  it('refuses unreadable files, files that are not PEM, and a key of another certificate, naming the file', () => {
    const missing = path.join(pki.dir, 'missing.crt');
    assert.throws(() => loadConfig(['--tls-cert', missing, '--tls-key', pki.keyFile], {}), (err: Error) => err.message.startsWith(`--tls-cert ${missing}: cannot be read`));
    const garbage = path.join(pki.dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    assert.throws(() => loadConfig(['--tls-cert', garbage, '--tls-key', pki.keyFile], {}), /not a usable PEM certificate and matching private key/);
    assert.throws(() => loadConfig(['--tls-cert', pki.certFile, '--tls-key', garbage], {}), /not a usable PEM certificate and matching private key/);
    // The CA's key does not belong to the server certificate.
    assert.throws(() => loadConfig(['--tls-cert', pki.certFile, '--tls-key', path.join(pki.dir, 'ca.key')], {}), /not a usable PEM certificate and matching private key/);
  });
});

describe('user code on this host', () => {
  it('knows loopback addresses: 127.0.0.0/8, ::1 and localhost', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.1.2.3', '192.168.1.10', '::ffff:10.0.0.1', 'berth.example.com', '128.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });

  it('refuses --runtime process on a non-loopback --host, saying why, unless --allow-host-code', () => {
    assert.throws(
      () => loadConfig(['--runtime', 'process', '--host', '0.0.0.0'], {}),
      /--runtime process: the process runtime runs callers' notebook code on this host as Berth's user.*--host 0\.0\.0\.0.*--allow-host-code true/,
    );
    assert.throws(() => loadConfig([], { BERTH_RUNTIME: 'process', BERTH_HOST: '10.1.2.3' }), /runs callers' notebook code on this host/);
    assert.equal(loadConfig(['--runtime', 'process', '--host', '0.0.0.0', '--allow-host-code', 'true'], {}).allowHostCode, true);
    assert.equal(loadConfig([], { BERTH_RUNTIME: 'process', BERTH_HOST: '::', BERTH_ALLOW_HOST_CODE: '1' }).runtime, 'process');
    assert.throws(() => loadConfig(['--allow-host-code', 'yes'], {}), /--allow-host-code must be true or false/);
  });

  it('takes --auth keys by default, and --auth none only on a loopback --host', () => {
    assert.equal(loadConfig([], {}).auth, 'keys');
    assert.equal(loadConfig(['--auth', 'none'], {}).auth, 'none');
    assert.equal(loadConfig(['--auth', 'none', '--host', '::1'], {}).auth, 'none');
    for (const host of ['0.0.0.0', '::', '10.1.2.3'])
      assert.throws(() => loadConfig(['--auth', 'none', '--host', host, '--runtime', 'docker'], {}), /--auth none lets every caller act as a server admin; it is allowed only on a loopback address/, host);
    assert.throws(() => loadConfig([], { BERTH_AUTH: 'none', BERTH_HOST: '0.0.0.0', BERTH_RUNTIME: 'docker' }), /--auth none/);
    assert.throws(() => loadConfig(['--auth', 'off'], {}), /--auth must be keys or none/);
  });

  it('takes --runtime process on loopback, and leaves docker and auto to start-up', () => {
    assert.equal(loadConfig(['--runtime', 'process'], {}).allowHostCode, false);
    assert.equal(loadConfig(['--runtime', 'process', '--host', 'localhost'], {}).runtime, 'process');
    assert.equal(loadConfig(['--runtime', 'docker', '--host', '0.0.0.0'], {}).runtime, 'docker');
    // auto falls back to the process runtime only when no engine answers: main.ts decides then.
    assert.equal(loadConfig(['--host', '0.0.0.0'], {}).runtime, 'auto');
  });
});
