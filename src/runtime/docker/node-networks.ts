import type Dockerode from 'dockerode';
import { RuntimeUnavailableError } from '../runtime';
import { engineMessageOf, isConflict, isNotFound } from './errors';
import { LABELS, networkLabels, networkName, scopeFilter } from './labels';
import { formatCidr, parseCidr, pickSubnet, subnetCount, type Ipv4Cidr } from './subnet-pool';

/** The subset of a pino logger node networks use. */
export interface NodeNetworksLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Runs one Docker API call with the runtime's deadline and error translation. */
export type EngineCall = <T>(operation: string, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;

export interface NodeNetworksOptions {
  docker: Dockerode;
  /** The cluster id: labels every network created and narrows what is listed. */
  runId: string | undefined;
  /** Where node subnets come from. */
  pool: Ipv4Cidr;
  call: EngineCall;
  log: NodeNetworksLogger;
}

/** A node network as the engine lists it, reduced to what Berth reads. */
export interface NodeNetwork {
  id: string;
  nodeId: string;
  createdAt: Date;
}

/** Thrown when every subnet of the node network pool is taken. */
export class NodeNetworkPoolExhaustedError extends Error {
  constructor(pool: Ipv4Cidr) {
    super(
      `the node network pool ${formatCidr(pool)} has no free subnet left (it holds ${subnetCount(pool)} node networks): ` +
        'delete nodes or widen --node-network-pool',
    );
    this.name = 'NodeNetworkPoolExhaustedError';
  }
}

/** How many times ensure looks at a node's networks (creating, removing duplicates) before settling. */
const SETTLE_ROUNDS = 10;

/**
 * How many subnets one create tries when others take them first (another
 * Berth process, or a network of someone else created meanwhile).
 */
const SUBNET_ATTEMPTS = 32;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Between 0.5 and 1.5 times `ms`, so that parties racing each other fall out of step. */
const jitter = (ms: number): number => ms * (0.5 + Math.random());

/** Docker's answer to a subnet that overlaps another network's. */
function isPoolOverlap(err: unknown): boolean {
  return /pool overlaps/i.test(engineMessageOf(err));
}

/**
 * The networks of Docker nodes: one bridge network per node, named after the
 * node (so that a second create of it collides) and numbered from Berth's own
 * pool rather than Docker's default address pools, which hold only about 30
 * networks.
 *
 * Nothing here is remembered between calls: which subnets are taken is read
 * from the engine each time a network is created, and a subnet taken by a
 * concurrent create (another Berth on the same engine) makes Docker refuse
 * ours as overlapping, so the next free subnet is tried.
 */
export class NodeNetworks {
  private readonly docker: Dockerode;
  private readonly runId: string | undefined;
  private readonly pool: Ipv4Cidr;
  private readonly call: EngineCall;
  private readonly log: NodeNetworksLogger;
  /** Network creations in flight by node id, so concurrent starts of one node create it once. */
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Subnets this process is creating networks on right now: not yet listed by the engine. */
  private readonly claiming = new Set<string>();

  constructor(options: NodeNetworksOptions) {
    this.docker = options.docker;
    this.runId = options.runId;
    this.pool = options.pool;
    this.call = options.call;
    this.log = options.log;
  }

  /** Returns the id of the node's network, creating it when missing. */
  ensure(nodeId: string): Promise<string> {
    const inFlight = this.inFlight.get(nodeId);
    if (inFlight) return inFlight;
    const ensured = this.ensureOnce(nodeId).finally(() => this.inFlight.delete(nodeId));
    this.inFlight.set(nodeId, ensured);
    return ensured;
  }

  /**
   * Removes every network of the node: by its name (concurrent creates may
   * have left more than one) and by its label in this cluster. One with
   * running containers is refused by the engine (DockerEngineError, 403).
   */
  async remove(nodeId: string): Promise<void> {
    const name = networkName(nodeId);
    const byName = await this.findByName(name);
    const byLabel = await this.call(`list networks of node ${nodeId}`, (abortSignal) =>
      this.docker.listNetworks({ filters: { label: scopeFilter(this.runId, `${LABELS.nodeId}=${nodeId}`) }, abortSignal }),
    );
    const ids = new Set([...byName, ...byLabel].map((n) => n.Id));
    for (const id of ids) {
      try {
        await this.call(`remove network ${name}`, (abortSignal) => this.docker.getNetwork(id).remove({ abortSignal }));
        this.log.info({ nodeId, network: name, networkId: id }, 'node network removed');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Every node network of this cluster on the engine. */
  async list(): Promise<NodeNetwork[]> {
    const networks = await this.call('list node networks', (abortSignal) =>
      this.docker.listNetworks({ filters: { label: scopeFilter(this.runId) }, abortSignal }),
    );
    const found: NodeNetwork[] = [];
    for (const n of networks) {
      const nodeId = n.Labels?.[LABELS.nodeId];
      if (nodeId) found.push({ id: n.Id, nodeId, createdAt: new Date(n.Created) });
    }
    return found;
  }

  /**
   * Docker checks network name uniqueness without a lock, so two processes
   * creating a node's network at once can both succeed; and a container
   * cannot start while its network's name is ambiguous. So every party
   * converges on the same network: the one in use (with the most running
   * containers), else the oldest; the others are removed once nothing uses
   * them. A start that still loses the race fails as ambiguous and is retried
   * by the runtime.
   */
  private async ensureOnce(nodeId: string): Promise<string> {
    const name = networkName(nodeId);
    let winner: string | undefined;
    for (let round = 1; round <= SETTLE_ROUNDS; round++) {
      const networks = await this.findByName(name);
      if (networks.length === 1 && networks[0]) return networks[0].Id;
      if (networks.length === 0) {
        await this.create(nodeId, name);
        continue;
      }
      const ranked = await this.rank(networks);
      winner = ranked[0]?.Id;
      for (const loser of ranked.slice(1)) {
        if (loser.endpoints > 0) continue;
        this.log.debug({ network: name, networkId: loser.Id }, 'removing a duplicate network');
        await this.call(`remove network ${loser.Id}`, (abortSignal) => this.docker.getNetwork(loser.Id).remove({ abortSignal })).catch(
          (err: unknown) => this.log.debug({ network: name, err }, 'duplicate network not removed'),
        );
      }
      await sleep(jitter(20 * round));
    }
    if (!winner) throw new RuntimeUnavailableError(`network ${name} could not be created`);
    this.log.warn({ network: name, networkId: winner }, 'duplicate node networks remain; using the one in use');
    return winner;
  }

  /**
   * Creates the node's network on the first free subnet of the pool (as the
   * engine shows it now). When the engine refuses that subnet as overlapping,
   * someone took it meanwhile: if it was this node's network, created by
   * another process, that is success; otherwise the next free one is tried.
   */
  private async create(nodeId: string, name: string): Promise<void> {
    const refused: Ipv4Cidr[] = [];
    for (let attempt = 1; attempt <= SUBNET_ATTEMPTS; attempt++) {
      const taken = [...(await this.takenSubnets()), ...refused, ...[...this.claiming].map((c) => parseCidr(c)!)];
      const subnet = pickSubnet(this.pool, nodeId, taken);
      if (!subnet) throw new NodeNetworkPoolExhaustedError(this.pool);
      const cidr = formatCidr(subnet);
      this.claiming.add(cidr);
      try {
        await this.call(`create network ${name}`, (abortSignal) =>
          this.docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            CheckDuplicate: true,
            IPAM: { Driver: 'default', Config: [{ Subnet: cidr }] },
            Labels: networkLabels(nodeId, this.runId),
            abortSignal,
          }),
        );
        this.log.debug({ nodeId, network: name, subnet: cidr }, 'node network created');
        return;
      } catch (err) {
        // Another Berth process created it first: fine.
        if (isConflict(err)) return;
        if (!isPoolOverlap(err)) throw err;
        if ((await this.findByName(name)).length > 0) return;
        this.log.debug({ nodeId, network: name, subnet: cidr }, 'subnet taken meanwhile; trying the next free one');
        refused.push(subnet);
      } finally {
        this.claiming.delete(cidr);
      }
    }
    throw new RuntimeUnavailableError(`network ${name}: ${SUBNET_ATTEMPTS} subnets in a row were taken by others while it was created`);
  }

  /** The IPv4 subnets of every network on the engine, Berth's or not: Docker refuses any overlap. */
  private async takenSubnets(): Promise<Ipv4Cidr[]> {
    const networks = await this.call('list networks', (abortSignal) => this.docker.listNetworks({ abortSignal }));
    const taken: Ipv4Cidr[] = [];
    for (const n of networks) {
      for (const config of n.IPAM?.Config ?? []) {
        const subnet = config.Subnet === undefined ? undefined : parseCidr(config.Subnet);
        if (subnet) taken.push(subnet);
      }
    }
    return taken;
  }

  /** Same-named networks, best first: most running containers, then oldest, then by id. */
  private async rank(networks: Dockerode.NetworkInspectInfo[]): Promise<Array<{ Id: string; endpoints: number; created: number }>> {
    const ranked = await Promise.all(
      networks.map(async (n) => {
        const info = await this.call(`inspect network ${n.Id}`, () => this.docker.getNetwork(n.Id).inspect()).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return { Id: n.Id, endpoints: Object.keys(info?.Containers ?? {}).length, created: Date.parse(n.Created), gone: !info };
      }),
    );
    return ranked.filter((n) => !n.gone).sort((a, b) => b.endpoints - a.endpoints || a.created - b.created || a.Id.localeCompare(b.Id));
  }

  /** Networks with exactly this name (Docker's name filter also matches substrings). */
  private async findByName(name: string): Promise<Dockerode.NetworkInspectInfo[]> {
    const networks = await this.call(`list networks ${name}`, (abortSignal) => this.docker.listNetworks({ filters: { name: [name] }, abortSignal }));
    return networks.filter((n) => n.Name === name);
  }
}
