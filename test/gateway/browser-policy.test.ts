/**
 * The browser rules as a table: which hosts and origins each kind of bind
 * accepts, what a preflight from a listed origin is granted, and how the
 * `--cors-origin` / `--allowed-host` values are checked.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { BrowserPolicy, isLoopbackHost, parseAllowedHosts, parseCorsOrigins } from '../../src/gateway/browser-policy';

describe('browser policy', () => {
  it('knows loopback addresses in every spelling a bind or a Host may use', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.', 'a.localhost', '127.0.0.1.nip.io', 'rebind.test']) assert.ok(!isLoopbackHost(host), host);
  });

  const table: { bind: string; allowedHosts?: string[]; pass: string[]; refuse: string[] }[] = [
    {
      bind: '127.0.0.1',
      pass: ['127.0.0.1:8080', '127.0.0.1', '127.9.9.9:1', 'localhost:8080', 'LocalHost', '[::1]:8080', '[::1]'],
      refuse: ['rebind.test:8080', 'rebind.test', '10.0.0.1:8080', '127.0.0.1.nip.io:8080', 'localhost.:8080', 'evil@127.0.0.1', '127.0.0.1:8080/x', '[::2]:8080', ' '],
    },
    { bind: 'localhost', pass: ['localhost:1'], refuse: ['rebind.test:1'] },
    { bind: '::1', pass: ['[::1]:1', '127.0.0.1:1'], refuse: ['rebind.test:1'] },
    { bind: '127.0.0.1', allowedHosts: ['berth.internal'], pass: ['berth.internal:8080', 'BERTH.internal', 'localhost:1'], refuse: ['other.internal:8080', 'x.berth.internal'] },
    // Not loopback, no names listed: no Host rule at all.
    { bind: '0.0.0.0', pass: ['rebind.test:8080', 'anything'], refuse: [] },
    // Not loopback, names listed: those names, loopback, and IP literals (which no DNS answer can rebind).
    { bind: '0.0.0.0', allowedHosts: ['berth.example.com'], pass: ['berth.example.com:443', '10.1.2.3:8080', '[fd00::1]:1', 'localhost'], refuse: ['rebind.test:8080', 'example.com'] },
  ];
  for (const row of table) {
    it(`bound to ${row.bind}${row.allowedHosts ? ` with --allowed-host ${row.allowedHosts.join(',')}` : ''}: Host rule`, () => {
      const policy = new BrowserPolicy({ allowedHosts: row.allowedHosts }, row.bind);
      for (const host of row.pass) assert.equal(policy.hostRefusal(host), undefined, `${host} passes`);
      for (const host of row.refuse) assert.match(policy.hostRefusal(host) ?? '', /is not served here.*--allowed-host/, `${host} is refused`);
      // The same through the request headers, over HTTP/1.1 (`host`) and HTTP/2 (`:authority`).
      for (const host of row.refuse) {
        assert.ok(policy.refusal({ host }), `Host: ${host}`);
        assert.ok(policy.refusal({ ':authority': host } as never), `:authority ${host}`);
      }
    });
  }

  it('lets a request naming no host through: it is not a browser’s', () => {
    assert.equal(new BrowserPolicy({}, '127.0.0.1').refusal({}), undefined);
  });

  it('refuses every Origin unless listed, and grants only a listed one, never with credentials', () => {
    const none = new BrowserPolicy({}, '127.0.0.1');
    for (const origin of ['http://evil.example', 'null', 'http://127.0.0.1:8080', 'http://localhost:3000']) {
      assert.match(none.refusal({ host: '127.0.0.1:8080', origin }) ?? '', /cross-origin request .* is refused.*--cors-origin/);
      assert.equal(none.grantHeaders({ origin }), undefined);
    }
    const listed = new BrowserPolicy({ corsOrigins: ['http://app.example:3000'] }, '127.0.0.1');
    assert.equal(listed.refusal({ host: '127.0.0.1:8080', origin: 'http://app.example:3000' }), undefined);
    assert.ok(listed.refusal({ host: '127.0.0.1:8080', origin: 'http://app.example:3001' }));
    assert.ok(listed.refusal({ host: '127.0.0.1:8080', origin: 'http://APP.example:3000' }), 'browsers send origins lower-cased: the match is exact');
    const preflight = { origin: 'http://app.example:3000', 'access-control-request-method': 'POST', 'access-control-request-private-network': 'true' };
    assert.ok(listed.isPreflight('OPTIONS', preflight));
    assert.ok(!listed.isPreflight('OPTIONS', { origin: 'http://app.example:3000' }), 'a plain OPTIONS is not a preflight');
    const granted = listed.preflightHeaders(preflight);
    assert.equal(granted['access-control-allow-origin'], 'http://app.example:3000');
    assert.equal(granted.vary, 'Origin');
    assert.equal(granted['access-control-allow-private-network'], 'true');
    for (const header of ['authorization', 'content-type', 'x-request-id', 'x-folder-id', 'x-node-id']) assert.ok(granted['access-control-allow-headers']!.split(', ').includes(header), header);
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) assert.ok(granted['access-control-allow-methods']!.split(', ').includes(method), method);
    assert.ok(Number(granted['access-control-max-age']) > 0);
    assert.equal(granted['access-control-allow-credentials'], undefined);
  });

  it('takes exact http(s) origins and host names from the flags, and refuses anything else by name', () => {
    assert.deepEqual(parseCorsOrigins(['https://App.Example', 'http://localhost:3000/', 'https://x.example:443']), ['https://app.example', 'http://localhost:3000', 'https://x.example']);
    for (const bad of ['*', 'null', 'app.example', 'https://app.example/path', 'ftp://app.example', 'https://u@app.example', 'https://app.example?x']) {
      assert.throws(() => parseCorsOrigins([bad]), /--cors-origin/, bad);
    }
    assert.deepEqual(parseAllowedHosts(['Berth.Internal', '[::1]', '10.0.0.1']), ['berth.internal', '::1', '10.0.0.1']);
    for (const bad of ['berth.internal:8080', 'http://berth.internal', 'a b', '*.example']) assert.throws(() => parseAllowedHosts([bad]), /--allowed-host/, bad);

    assert.deepEqual(loadConfig([], {}).corsOrigins, []);
    assert.deepEqual(loadConfig([], {}).allowedHosts, []);
    const env = { BERTH_CORS_ORIGIN: 'http://a.example, http://b.example', BERTH_ALLOWED_HOSTS: 'berth.internal' };
    assert.deepEqual(loadConfig([], env).corsOrigins, ['http://a.example', 'http://b.example']);
    assert.deepEqual(loadConfig([], env).allowedHosts, ['berth.internal']);
    const flags = loadConfig(['--cors-origin', 'https://c.example', '--allowed-host', 'x.internal,y.internal'], env);
    assert.deepEqual(flags.corsOrigins, ['https://c.example'], 'flags win over the environment');
    assert.deepEqual(flags.allowedHosts, ['x.internal', 'y.internal']);
    assert.throws(() => loadConfig(['--cors-origin', '*'], {}), /--cors-origin/);
  });
});
