/**
 * The address pool node networks take their subnets from.
 *
 * Docker's default address pools hold about 30 bridge networks, so a host
 * that let Docker pick would run out at about 30 Docker nodes. Berth instead
 * carves small subnets out of a pool of its own (`--node-network-pool`) and
 * names the subnet when it creates a node's network. This module is the pure
 * arithmetic: parsing, the order in which a node tries subnets, overlap tests.
 * Which subnets are taken is read from the engine, never remembered, so that
 * restarts and several Berth processes on one engine agree.
 */

/** An IPv4 network: its first address as an unsigned 32-bit number and its prefix length. */
export interface Ipv4Cidr {
  base: number;
  prefix: number;
}

/**
 * The prefix length of every node network: a /25 has 128 addresses, 125 of
 * them for containers (the network, gateway and broadcast addresses are
 * taken). A node runs at most 64 instances (the largest `instance_range.max`),
 * and a rollout adds up to its maintenance limit of new instances before old
 * ones go, so the largest node rolls over with a limit of up to 61 at once
 * (the default limit is 1). A /26 (61 addresses) would not hold 64 instances.
 */
export const NODE_SUBNET_PREFIX = 25;

/**
 * The default pool: 10.200.0.0/13 holds 4,096 node subnets. It lies inside
 * 10.0.0.0/8, which Docker's default address pools (172.17.0.0/16 to
 * 172.31.0.0/16 and 192.168.0.0/16) never use, so user-defined networks that
 * Docker numbers itself do not compete with Berth's.
 */
export const DEFAULT_NODE_NETWORK_POOL = '10.200.0.0/13';

/** Thrown for a pool that is not an IPv4 CIDR with room for at least one node subnet. */
export class InvalidPoolError extends Error {
  constructor(value: string, reason: string) {
    super(`node network pool ${JSON.stringify(value)} ${reason}`);
    this.name = 'InvalidPoolError';
  }
}

function parseAddress(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Parses `a.b.c.d/n`; undefined when it is not an IPv4 CIDR (IPv6 and garbage alike). */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const match = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!match) return undefined;
  const base = parseAddress(match[1]!);
  const prefix = Number(match[2]);
  if (base === undefined || prefix > 32) return undefined;
  return { base, prefix };
}

/** How many addresses a prefix spans. */
function sizeOf(prefix: number): number {
  return 2 ** (32 - prefix);
}

export function formatCidr(cidr: Ipv4Cidr): string {
  const b = cidr.base;
  return `${Math.floor(b / 2 ** 24) % 256}.${Math.floor(b / 2 ** 16) % 256}.${Math.floor(b / 2 ** 8) % 256}.${b % 256}/${cidr.prefix}`;
}

/**
 * Parses and checks a node network pool: an IPv4 CIDR whose address is the
 * network's first one, large enough for one node subnet. Throws
 * {@link InvalidPoolError} saying what is wrong.
 */
export function parsePool(text: string): Ipv4Cidr {
  const cidr = parseCidr(text);
  if (!cidr) throw new InvalidPoolError(text, 'is not an IPv4 CIDR such as 10.200.0.0/13');
  if (cidr.prefix > NODE_SUBNET_PREFIX)
    throw new InvalidPoolError(text, `is smaller than one node subnet (/${NODE_SUBNET_PREFIX}); use a prefix of /${NODE_SUBNET_PREFIX} or shorter`);
  if (cidr.base % sizeOf(cidr.prefix) !== 0)
    throw new InvalidPoolError(text, `does not start on a /${cidr.prefix} boundary (did you mean ${formatCidr({ base: cidr.base - (cidr.base % sizeOf(cidr.prefix)), prefix: cidr.prefix })}?)`);
  return cidr;
}

/** How many node subnets the pool holds. */
export function subnetCount(pool: Ipv4Cidr): number {
  return sizeOf(pool.prefix) / sizeOf(NODE_SUBNET_PREFIX);
}

/** The i-th node subnet of the pool. */
export function subnetAt(pool: Ipv4Cidr, index: number): Ipv4Cidr {
  return { base: pool.base + index * sizeOf(NODE_SUBNET_PREFIX), prefix: NODE_SUBNET_PREFIX };
}

export function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + sizeOf(b.prefix) && b.base < a.base + sizeOf(a.prefix);
}

/** FNV-1a over the node id: a stable, well-spread starting point. */
function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The first subnet of the pool that overlaps none of `taken`, searched from a
 * starting point derived from the node id (then onwards, wrapping around);
 * undefined when the pool is full. Deterministic: every Berth process that
 * sees the same engine picks the same subnet for a node, and different nodes
 * created at once mostly start far apart, so they rarely race for one subnet.
 */
export function pickSubnet(pool: Ipv4Cidr, nodeId: string, taken: readonly Ipv4Cidr[]): Ipv4Cidr | undefined {
  const count = subnetCount(pool);
  const step = sizeOf(NODE_SUBNET_PREFIX);
  // The indexes of the node subnets something already covers, in part or whole.
  const used = new Set<number>();
  for (const t of taken) {
    if (!overlaps(t, pool)) continue;
    const first = Math.max(t.base, pool.base);
    const last = Math.min(t.base + sizeOf(t.prefix), pool.base + sizeOf(pool.prefix)) - 1;
    for (let i = Math.floor((first - pool.base) / step); i <= Math.floor((last - pool.base) / step); i++) used.add(i);
  }
  const start = hashOf(nodeId) % count;
  for (let n = 0; n < count; n++) {
    const index = (start + n) % count;
    if (!used.has(index)) return subnetAt(pool, index);
  }
  return undefined;
}
