/**
 * The HAProxy configuration Berth writes for `--data-plane haproxy`, checked
 * by HAProxy itself (`haproxy -c`) in every shape Berth can write it, and the
 * admin-socket answers Berth reads back (`show stat`) from a running HAProxy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { haproxyPaths, renderHaproxyConfig, RESPONSE_LIMIT_LUA, type HaproxyConfigOptions } from '../../src/gateway/haproxy/config';
import { grantKey } from '../../src/gateway/haproxy/grants';
import { parseServerLoads } from '../../src/gateway/haproxy/data-plane';
import { serverName } from '../../src/gateway/haproxy/route-sync';

const HAPROXY = '/usr/sbin/haproxy';

function haproxyPresent(): boolean {
  if (existsSync(HAPROXY)) return true;
  if (process.env.BERTH_REQUIRE_DOCKER === '1') throw new Error(`${HAPROXY} is required (BERTH_REQUIRE_DOCKER=1): apt-get install haproxy`);
  return false;
}

describe('the HAProxy configuration Berth writes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-haproxy-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base: HaproxyConfigOptions = {
    dir,
    bind: { host: '127.0.0.1', port: 18081 },
    berthPort: 18082,
    slots: { nodes: 4, aliases: 2 },
    maxBodyBytes: 16 * 1024 * 1024,
    headerTimeoutMs: 10_000,
    idleTimeoutMs: 65_000,
    authNone: false,
    checkHost: true,
    tracing: false,
  };

  function check(options: HaproxyConfigOptions): { status: number | null; output: string } {
    const files = haproxyPaths(dir);
    for (const map of [files.nodes, files.grants, files.hosts, files.timeouts]) writeFileSync(map, '');
    writeFileSync(files.lua, RESPONSE_LIMIT_LUA);
    writeFileSync(files.config, renderHaproxyConfig(options));
    const run = spawnSync(HAPROXY, ['-c', '-f', files.config], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  it('is valid for HAProxy with keys or without, with the host check or without, with spans, on IPv6, with TLS', (t) => {
    if (!haproxyPresent()) return t.skip('no HAProxy');
    const pem = path.join(dir, 'node-api.pem');
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', pem + '.key', '-out', pem + '.crt'], { encoding: 'utf8' });
    assert.equal(cert.status, 0, cert.stderr);
    writeFileSync(pem, Buffer.concat([readFileSync(pem + '.crt'), readFileSync(pem + '.key')]));
    const shapes: Array<[string, HaproxyConfigOptions]> = [
      ['keys, host check', base],
      ['--auth none', { ...base, authNone: true }],
      ['no host check', { ...base, checkHost: false }],
      ['spans recorded', { ...base, tracing: true }],
      ['IPv6 bind', { ...base, bind: { host: '::1', port: 18081 } }],
      ['TLS', { ...base, tlsPem: pem }],
    ];
    for (const [what, options] of shapes) {
      const result = check(options);
      assert.equal(result.status, 0, `${what}: ${result.output}`);
      assert.doesNotMatch(result.output, /\[WARNING\]/, `${what}: ${result.output}`);
    }
  });

  it('names servers and grants as HAProxy computes them', () => {
    assert.equal(serverName('nd1', 'in1abc'), 'nd1.in1abc');
    assert.equal(serverName('nd.1', 'in/1 a'), 'nd_1.in_1_a');
    // sha2(256),hex,lower of the whole header, the node and the folder (empty when not sent).
    assert.equal(grantKey('Bearer k', 'nd1', undefined, false), 'cc9b1550d4cb5d22909bcb07a2e79e78b50d455125d587de5345d84940fa1c4e:nd1:');
    assert.equal(grantKey('Bearer k', 'nd1', 'default', true), '-:nd1:default');
    assert.equal(grantKey(undefined, 'nd1', 'f', false), '-:nd1:f');
  });

  it('reads each server\'s calls in flight from show stat, node and alias slots only', () => {
    const csv = [
      '# pxname,svname,qcur,qmax,scur,smax',
      'node_api,FRONTEND,,,3,9',
      'n0,nd1.in1a,0,0,2,5',
      'n0,BACKEND,0,0,2,5',
      'n1,nd2.in1b,0,0,1,1',
      'a0,nd1.in1a,0,0,1,1',
      'berth_h1,berth,0,0,4,4',
      '',
    ].join('\n');
    assert.deepEqual([...parseServerLoads(csv)], [['nd1.in1a', 3], ['nd2.in1b', 1]]);
  });
});
