/** The arithmetic of the node network pool: parsing, the order subnets are tried in, overlaps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import {
  DEFAULT_NODE_NETWORK_POOL,
  InvalidPoolError,
  formatCidr,
  overlaps,
  parseCidr,
  parsePool,
  pickSubnet,
  subnetCount,
  subnetAt,
} from '../../src/runtime/docker/subnet-pool';

const cidr = (text: string) => parseCidr(text)!;

describe('node network pool', () => {
  it('defaults to room for thousands of nodes, clear of Docker\'s default address pools', () => {
    const pool = parsePool(DEFAULT_NODE_NETWORK_POOL);
    assert.equal(subnetCount(pool), 4096);
    for (const dockerDefault of ['172.17.0.0/16', '172.31.0.0/16', '172.16.0.0/12', '192.168.0.0/16'])
      assert.equal(overlaps(pool, cidr(dockerDefault)), false, `${DEFAULT_NODE_NETWORK_POOL} is clear of ${dockerDefault}`);
  });

  for (const [text, reason] of [
    ['10.200.0.0', /not an IPv4 CIDR/],
    ['fd00::/64', /not an IPv4 CIDR/],
    ['10.300.0.0/16', /not an IPv4 CIDR/],
    ['10.200.0.0/33', /not an IPv4 CIDR/],
    ['10.200.0.0/26', /smaller than one node subnet \(\/25\)/],
    ['10.200.1.0/16', /does not start on a \/16 boundary \(did you mean 10\.200\.0\.0\/16\?\)/],
  ] as const) {
    it(`refuses ${text}`, () => assert.throws(() => parsePool(text), (err: unknown) => err instanceof InvalidPoolError && reason.test(err.message)));
  }

  it('formats what it parses', () => {
    for (const text of ['10.200.0.0/13', '0.0.0.0/0', '255.255.255.128/25']) assert.equal(formatCidr(cidr(text)), text);
    assert.equal(formatCidr(subnetAt(cidr('10.200.0.0/13'), 4095)), '10.207.255.128/25');
  });

  it('picks the same subnet for a node every time, and different nodes mostly start apart', () => {
    const pool = parsePool('10.200.0.0/13');
    const first = pickSubnet(pool, 'nd0001', []);
    assert.deepEqual(pickSubnet(pool, 'nd0001', []), first);
    const starts = new Set(Array.from({ length: 100 }, (_, i) => formatCidr(pickSubnet(pool, `nd${i}`, [])!)));
    assert.ok(starts.size > 95, `${starts.size} distinct starting subnets for 100 nodes`);
  });

  it('skips every subnet something overlaps, even a larger or smaller network, and is undefined when full', () => {
    const pool = parsePool('10.9.0.0/23');
    const start = pickSubnet(pool, 'n', [])!;
    const next = pickSubnet(pool, 'n', [start])!;
    assert.notDeepEqual(next, start);
    // A /24 covering two node subnets and a /28 inside a third leave one.
    const taken = [cidr('10.9.0.0/24'), cidr('10.9.1.16/28')];
    assert.equal(formatCidr(pickSubnet(pool, 'n', taken)!), '10.9.1.128/25');
    assert.equal(pickSubnet(pool, 'n', [...taken, cidr('10.9.1.128/25')]), undefined);
    assert.equal(pickSubnet(pool, 'n', [cidr('10.0.0.0/8')]), undefined);
    // What lies outside the pool does not matter.
    assert.ok(pickSubnet(pool, 'n', [cidr('10.8.0.0/16'), cidr('172.17.0.0/16')]));
  });

  it('is configured by --node-network-pool or BERTH_NODE_NETWORK_POOL, and a bad one stops Berth with the reason', () => {
    assert.equal(loadConfig([], {}).nodeNetworkPool, DEFAULT_NODE_NETWORK_POOL);
    assert.equal(loadConfig([], { BERTH_NODE_NETWORK_POOL: '10.64.0.0/16' }).nodeNetworkPool, '10.64.0.0/16');
    assert.equal(loadConfig(['--node-network-pool', '10.65.0.0/16'], { BERTH_NODE_NETWORK_POOL: '10.64.0.0/16' }).nodeNetworkPool, '10.65.0.0/16');
    assert.throws(() => loadConfig(['--node-network-pool', '10.200.0.0/26'], {}), /^Error: --node-network-pool: node network pool "10\.200\.0\.0\/26" is smaller than one node subnet/);
  });
});
