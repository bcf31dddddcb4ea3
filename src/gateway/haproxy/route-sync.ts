/**
 * Keeps what HAProxy serves equal to Berth's routing table. A work queue of
 * routes plus one reconcile function, as the supervisor is: a change marks a
 * route; `reconcile(key)` compares what HAProxy holds with what the routing
 * table says and sends the commands that close the gap.
 *
 * A route is a node (keyed by its id) or an alias (keyed `folder/name`, as
 * Berth last read it on a call it served). A route HAProxy may serve is
 * given one of the configuration's empty backends (a slot): one dynamic
 * server per healthy instance (for an alias, per healthy instance of each
 * target, weighted so that each target gets its share of calls), then its
 * entry in `nodes.map`, so that no call reaches the slot before it has a
 * server. A route that cannot be served here (a node without a healthy
 * instance, an alias one of whose targets has none) loses its map entry
 * first: its calls go to Berth's own server, which holds or refuses them.
 *
 * An instance that leaves is set to maintenance: HAProxy sends it no new
 * call while those in flight finish (the supervisor stops it only after its
 * grace), and it is deleted once it has no connection left.
 */

import type { Logger } from 'pino';
import type { NodeRoute, RoutingTable } from '../routing-table';
import type { AdminSocket } from './admin-socket';
import { aliasSlotName, slotName } from './config';

/** A server as HAProxy should have it. */
interface WantedServer {
  address: string;
  weight: number;
  h2: boolean;
}

/** What HAProxy holds for one route. */
interface Placed {
  backend: string;
  /** Servers taking calls, by name: address and weight as set. */
  servers: Map<string, { address: string; weight: number }>;
  timeoutMs: number;
  mapped: boolean;
}

/** A server set to maintenance, waiting for its connections to end before it is deleted. */
interface Leaving {
  backend: string;
  since: number;
}

/** An alias as Berth last read it. */
export interface AliasRoute {
  folderId: string;
  name: string;
  id: string;
  targets: ReadonlyArray<{ nodeId: string; weight: number }>;
  /** When Berth last read it. */
  at: number;
  /** When HAProxy last relayed a call through it (or Berth read it for one). */
  usedAt: number;
  reading?: boolean;
}

/** Reads an alias as it is now: undefined when it no longer exists. */
export type ReadAlias = (folderId: string, name: string) => Promise<Omit<AliasRoute, 'at' | 'usedAt' | 'reading'> | undefined>;

/** Idle connections kept per server for later calls: a configured server's defaults, which a server added at run time lacks (HAProxy 2.6). */
const IDLE_CONNECTIONS = 'pool-max-conn -1 pool-purge-delay 5s';

const DELETE_RETRY_MS = 500;
/** A server still busy after this long stays in maintenance (its slot is not reused while it is there). */
const DELETE_GIVE_UP_MS = 10 * 60_000;
/** An alias no call went through for this long gives its slot back. */
const ALIAS_KEPT_MS = 10_000;
/** An alias in use is read again this often (Berth's own cache of an alias is kept as long). */
const ALIAS_REREAD_MS = 1000;

/** HAProxy server names: `<node id>.<instance id>`, anything outside HAProxy's name characters replaced. */
export function serverName(nodeId: string, instanceId: string): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9_:-]/g, '_');
  return `${safe(nodeId)}.${safe(instanceId)}`;
}

/** The key of an alias's route in `nodes.map`, as HAProxy builds it from `x-folder-id` and `x-node-alias`. */
export function aliasKey(folderId: string, name: string): string {
  return `${folderId}/${name}`;
}

function addressOf(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** HAProxy weights are 1–256; a target's share is split evenly among its instances. */
function weightOf(share: number, instances: number): number {
  return Math.max(1, Math.min(256, Math.round((256 * share) / instances)));
}

/** How long an instance may stay silent on a fast-path call: the node's idle timeout, else its whole-call timeout, else a day. */
function serverTimeoutOf(route: NodeRoute): number {
  const limits = [route.idleTimeoutMs, route.timeoutMs].filter((ms) => ms > 0);
  return limits.length > 0 ? Math.min(...limits) : 86_400_000;
}

export class RouteSync {
  private readonly placed = new Map<string, Placed>();
  private readonly leaving = new Map<string, Leaving>();
  private readonly aliases = new Map<string, AliasRoute>();
  private readonly freeNodeSlots: number[];
  private readonly freeAliasSlots: number[];
  private readonly dirty = new Set<string>();
  private running: Promise<void> | undefined;
  private deleteTimer: NodeJS.Timeout | undefined;
  private readonly aliasSweeper: NodeJS.Timeout;
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private warnedFull = false;

  constructor(
    private readonly routing: RoutingTable,
    private readonly admin: AdminSocket,
    private readonly mapFiles: { nodes: string; timeouts: string },
    private readonly slots: { nodes: number; aliases: number },
    private readonly readAlias: ReadAlias,
    private readonly log: Logger,
  ) {
    this.freeNodeSlots = Array.from({ length: slots.nodes }, (_, i) => slots.nodes - 1 - i);
    this.freeAliasSlots = Array.from({ length: slots.aliases }, (_, i) => slots.aliases - 1 - i);
    this.aliasSweeper = setInterval(() => this.sweepAliases(), ALIAS_REREAD_MS / 4);
    this.aliasSweeper.unref();
  }

  /** Follows the routing table from now on. */
  watch(nodeIds: () => Iterable<string>): void {
    this.unsubscribe = this.routing.onChange((nodeId) => this.nodeChanged(nodeId));
    for (const id of nodeIds()) this.mark(id);
  }

  /** Berth read this alias for a call it let through: HAProxy may serve the alias's calls. */
  learnAlias(alias: Omit<AliasRoute, 'at' | 'usedAt' | 'reading'>): void {
    const key = aliasKey(alias.folderId, alias.name);
    const known = this.aliases.get(key);
    const now = Date.now();
    this.aliases.set(key, { ...alias, at: now, usedAt: Math.max(now, known?.usedAt ?? 0) });
    const same = known !== undefined && known.targets.length === alias.targets.length && known.targets.every((t, i) => t.nodeId === alias.targets[i]!.nodeId && t.weight === alias.targets[i]!.weight);
    if (!same) this.mark(key);
  }

  /** HAProxy relayed a call through this alias (`folder/name`): it stays, and is read again while in use. */
  aliasUsed(key: string): void {
    const alias = this.aliases.get(key);
    if (alias) alias.usedAt = Date.now();
  }

  /** The alias changed here: HAProxy stops serving it until Berth reads it again. */
  forgetAlias(folderId: string, name: string): void {
    const key = aliasKey(folderId, name);
    if (!this.aliases.delete(key)) return;
    this.mark(key);
  }

  /** HAProxy restarted empty: everything is placed again from the routing table. */
  resetAll(nodeIds: Iterable<string>): Promise<void> {
    this.placed.clear();
    this.leaving.clear();
    this.freeNodeSlots.length = 0;
    this.freeAliasSlots.length = 0;
    for (let i = this.slots.nodes - 1; i >= 0; i--) this.freeNodeSlots.push(i);
    for (let i = this.slots.aliases - 1; i >= 0; i--) this.freeAliasSlots.push(i);
    for (const id of nodeIds) this.mark(id);
    for (const key of this.aliases.keys()) this.mark(key);
    return this.settled();
  }

  /** Resolves when every marked route has been reconciled. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    clearInterval(this.aliasSweeper);
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
  }

  private nodeChanged(nodeId: string): void {
    this.mark(nodeId);
    for (const [key, alias] of this.aliases) if (alias.targets.some((t) => t.nodeId === nodeId)) this.mark(key);
  }

  /**
   * Aliases in use are read again every {@link ALIAS_REREAD_MS}, in the
   * background (a change made by another Berth process reaches HAProxy as it
   * reaches Berth's own cache); one no call went through for
   * {@link ALIAS_KEPT_MS} leaves HAProxy.
   */
  private sweepAliases(): void {
    const now = Date.now();
    for (const [key, alias] of this.aliases) {
      if (now - alias.usedAt >= ALIAS_KEPT_MS) {
        this.aliases.delete(key);
        this.mark(key);
        continue;
      }
      if (alias.reading || now - alias.at < ALIAS_REREAD_MS) continue;
      alias.reading = true;
      this.readAlias(alias.folderId, alias.name).then(
        (read) => {
          alias.reading = false;
          if (this.aliases.get(key) !== alias) return;
          if (read === undefined) return this.forgetAlias(alias.folderId, alias.name);
          this.learnAlias(read);
        },
        (err: unknown) => {
          alias.reading = false;
          // Unreadable (the database down): Berth serves the alias's calls, and answers them as it can.
          this.log.warn({ err, alias: key }, 'an alias could not be read again; its calls go through Berth');
          if (this.aliases.get(key) === alias) this.forgetAlias(alias.folderId, alias.name);
        },
      );
    }
  }

  private mark(key: string): void {
    if (this.closed) return;
    this.dirty.add(key);
    this.running ??= this.drainQueue().finally(() => {
      this.running = undefined;
    });
  }

  private async drainQueue(): Promise<void> {
    while (this.dirty.size > 0 && !this.closed) {
      const key = this.dirty.values().next().value as string;
      this.dirty.delete(key);
      try {
        await this.reconcile(key);
      } catch (err) {
        this.log.error({ err, route: key }, 'HAProxy route sync failed; the route is served by Berth until its next change');
        await this.unmap(key).catch(() => undefined);
      }
    }
  }

  /** The servers a route should have, or undefined when HAProxy cannot serve it. */
  private wanted(key: string): { servers: Map<string, WantedServer>; timeoutMs: number } | undefined {
    const alias = this.aliases.get(key);
    if (alias === undefined) {
      const route = this.routing.get(key);
      if (!route || route.kind !== 'docker' || route.backends.length === 0) return undefined;
      const servers = new Map(route.backends.map((b) => [serverName(route.nodeId, b.instanceId), { address: addressOf(b.host, b.port), weight: 1, h2: route.endpointType === 'grpc' }]));
      return { servers, timeoutMs: serverTimeoutOf(route) };
    }
    const total = alias.targets.reduce((sum, t) => sum + t.weight, 0);
    if (total <= 0) return undefined;
    const servers = new Map<string, WantedServer>();
    let timeoutMs = 0;
    for (const target of alias.targets) {
      if (target.weight <= 0) continue;
      const route = this.routing.get(target.nodeId);
      // A target that cannot take its share here (asleep, starting, not Docker, another folder): Berth serves the alias.
      if (!route || route.kind !== 'docker' || route.backends.length === 0 || route.folderId !== alias.folderId) return undefined;
      timeoutMs = Math.max(timeoutMs, serverTimeoutOf(route));
      for (const b of route.backends) {
        servers.set(serverName(route.nodeId, b.instanceId), { address: addressOf(b.host, b.port), weight: weightOf(target.weight / total, route.backends.length), h2: route.endpointType === 'grpc' });
      }
    }
    return { servers, timeoutMs };
  }

  /** Makes what HAProxy holds for a route match what it should be. */
  private async reconcile(key: string): Promise<void> {
    const wanted = this.wanted(key);
    let placed = this.placed.get(key);
    if (!wanted) {
      if (placed) await this.release(key, placed);
      return;
    }
    if (!placed) {
      const isAlias = this.aliases.has(key);
      const slot = (isAlias ? this.freeAliasSlots : this.freeNodeSlots).pop();
      if (slot === undefined) {
        if (!this.warnedFull) this.log.warn({ route: key }, 'every HAProxy slot is taken; further routes are served by Berth');
        this.warnedFull = true;
        return;
      }
      placed = { backend: isAlias ? aliasSlotName(slot) : slotName(slot), servers: new Map(), timeoutMs: -1, mapped: false };
      this.placed.set(key, placed);
    }
    await this.placeServers(placed, wanted.servers);
    if (wanted.timeoutMs !== placed.timeoutMs) {
      const set = await this.admin.tryRun(`set map ${this.mapFiles.timeouts} ${key} ${wanted.timeoutMs}`);
      if (!set.ok) await this.admin.run(`add map ${this.mapFiles.timeouts} ${key} ${wanted.timeoutMs}`);
      placed.timeoutMs = wanted.timeoutMs;
    }
    if (!placed.mapped) {
      await this.admin.run(`add map ${this.mapFiles.nodes} ${key} ${placed.backend}`);
      placed.mapped = true;
    }
  }

  private async placeServers(placed: Placed, wanted: Map<string, WantedServer>): Promise<void> {
    for (const [name, server] of wanted) {
      const now = placed.servers.get(name);
      const id = `${placed.backend}/${name}`;
      if (now?.address === server.address) {
        if (now.weight !== server.weight) {
          await this.admin.run(`set server ${id} weight ${server.weight}`);
          now.weight = server.weight;
        }
        continue;
      }
      if (now !== undefined || this.leaving.has(id)) {
        // Back again (or moved): out of maintenance at its current address.
        await this.admin.run(`set server ${id} state maint`);
        const [host, port] = splitAddress(server.address);
        await this.admin.run(`set server ${id} addr ${host} port ${port}`);
        await this.admin.run(`set server ${id} weight ${server.weight}`);
        await this.admin.run(`set server ${id} state ready`);
        this.leaving.delete(id);
      } else {
        // Without IDLE_CONNECTIONS every call would open a new connection to its instance.
        await this.admin.run(`add server ${id} ${server.address} weight ${server.weight}${server.h2 ? ' proto h2' : ''} ${IDLE_CONNECTIONS}`);
        await this.admin.run(`enable server ${id}`);
      }
      placed.servers.set(name, { address: server.address, weight: server.weight });
    }
    for (const name of [...placed.servers.keys()]) {
      if (wanted.has(name)) continue;
      placed.servers.delete(name);
      await this.retire(placed.backend, name);
    }
  }

  /** The route is no longer served here: no new call reaches its slot; its servers leave; the slot is freed once they are gone. */
  private async release(key: string, placed: Placed): Promise<void> {
    await this.unmap(key);
    this.placed.delete(key);
    for (const name of placed.servers.keys()) await this.retire(placed.backend, name);
    if (placed.timeoutMs >= 0) await this.admin.tryRun(`del map ${this.mapFiles.timeouts} ${key}`);
    this.freeIfUnused(placed.backend);
  }

  private async unmap(key: string): Promise<void> {
    const placed = this.placed.get(key);
    if (placed && !placed.mapped) return;
    await this.admin.tryRun(`del map ${this.mapFiles.nodes} ${key}`);
    if (placed) placed.mapped = false;
  }

  private async retire(backend: string, name: string): Promise<void> {
    const id = `${backend}/${name}`;
    await this.admin.tryRun(`set server ${id} state maint`);
    this.leaving.set(id, { backend, since: Date.now() });
    this.scheduleDeletes();
  }

  /** Gives a slot back once no route holds it and none of its servers is still leaving. */
  private freeIfUnused(backend: string): void {
    if ([...this.placed.values()].some((p) => p.backend === backend) || [...this.leaving.values()].some((l) => l.backend === backend)) return;
    const alias = /^a(\d+)$/.exec(backend);
    const free = alias ? this.freeAliasSlots : this.freeNodeSlots;
    const slot = Number(alias ? alias[1] : backend.slice(1));
    if (!free.includes(slot)) free.push(slot);
  }

  private scheduleDeletes(): void {
    if (this.deleteTimer || this.closed) return;
    this.deleteTimer = setTimeout(() => {
      this.deleteTimer = undefined;
      void this.deleteLeaving().finally(() => {
        if (this.leaving.size > 0) this.scheduleDeletes();
      });
    }, DELETE_RETRY_MS);
    this.deleteTimer.unref();
  }

  private async deleteLeaving(): Promise<void> {
    for (const [id, l] of [...this.leaving]) {
      if (this.closed) return;
      const { ok } = await this.admin.tryRun(`del server ${id}`).catch(() => ({ ok: false }));
      if (!ok && Date.now() - l.since < DELETE_GIVE_UP_MS) continue;
      if (!ok) this.log.warn({ server: id }, 'an HAProxy server kept connections open; left in maintenance');
      this.leaving.delete(id);
      this.freeIfUnused(l.backend);
    }
  }
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return [host.startsWith('[') ? host.slice(1, -1) : host, address.slice(i + 1)];
}
