/**
 * Keeps HAProxy's view of which nodes it may serve, and on which instances,
 * equal to Berth's routing table. A work queue of node ids plus one
 * reconcile function, as the supervisor is: a change of a node's route marks
 * it; `reconcile(nodeId)` compares what HAProxy holds with what the route
 * says and sends the commands that close the gap.
 *
 * A Docker node with a healthy instance is given one of the configuration's
 * empty backends (a slot): one dynamic server per healthy instance, then its
 * entry in `nodes.map`, so that no call reaches the slot before it has a
 * server. A node that stops serving loses its map entry first (its calls go
 * to Berth's own server, which holds or refuses them as it always does).
 *
 * An instance that leaves is set to maintenance: HAProxy sends it no new
 * call while those in flight finish (the supervisor stops it only after its
 * grace), and it is deleted once it has no connection left.
 */

import type { Logger } from 'pino';
import type { NodeRoute, RoutingTable } from '../routing-table';
import type { AdminSocket } from './admin-socket';
import { slotName } from './config';

/** What HAProxy holds for one node. */
interface Placed {
  slot: number;
  /** Servers taking calls, by instance id: their address as added. */
  servers: Map<string, string>;
  timeoutMs: number;
  mapped: boolean;
}

/** A server set to maintenance, waiting for its connections to end before it is deleted. */
interface Leaving {
  slot: number;
  name: string;
  since: number;
}

const DELETE_RETRY_MS = 500;
/** A server still busy after this long stays in maintenance (its slot is not reused while it is there). */
const DELETE_GIVE_UP_MS = 10 * 60_000;

/** HAProxy server names: the instance id with anything outside HAProxy's name characters replaced. */
export function serverName(instanceId: string): string {
  return instanceId.replace(/[^A-Za-z0-9._:-]/g, '_');
}

export class RouteSync {
  private readonly placed = new Map<string, Placed>();
  private readonly leaving = new Map<string, Leaving>();
  private readonly freeSlots: number[];
  private readonly dirty = new Set<string>();
  private running: Promise<void> | undefined;
  private deleteTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private warnedFull = false;

  constructor(
    private readonly routing: RoutingTable,
    private readonly admin: AdminSocket,
    private readonly mapFiles: { nodes: string; timeouts: string },
    slots: number,
    private readonly log: Logger,
  ) {
    this.freeSlots = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  }

  /** Follows the routing table from now on. */
  watch(nodeIds: () => Iterable<string>): void {
    this.unsubscribe = this.routing.onChange((nodeId) => this.mark(nodeId));
    for (const id of nodeIds()) this.mark(id);
  }

  /** HAProxy restarted empty: everything is placed again from the routing table. */
  resetAll(nodeIds: Iterable<string>): Promise<void> {
    const slots = this.freeSlots.length + this.placed.size + new Set([...this.leaving.values()].map((l) => l.slot)).size;
    this.placed.clear();
    this.leaving.clear();
    this.freeSlots.length = 0;
    for (let i = slots - 1; i >= 0; i--) this.freeSlots.push(i);
    for (const id of nodeIds) this.mark(id);
    return this.settled();
  }

  /** The instances HAProxy may send a node's calls to now (for tests and status). */
  serversOf(nodeId: string): string[] {
    const p = this.placed.get(nodeId);
    return p && p.mapped ? [...p.servers.keys()] : [];
  }

  /** The slot backend of a node, while it has one. */
  slotOf(nodeId: string): string | undefined {
    const p = this.placed.get(nodeId);
    return p ? slotName(p.slot) : undefined;
  }

  /** Resolves when every marked node has been reconciled. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.deleteTimer) clearTimeout(this.deleteTimer);
  }

  private mark(nodeId: string): void {
    if (this.closed) return;
    this.dirty.add(nodeId);
    this.running ??= this.drainQueue().finally(() => {
      this.running = undefined;
    });
  }

  private async drainQueue(): Promise<void> {
    while (this.dirty.size > 0 && !this.closed) {
      const nodeId = this.dirty.values().next().value as string;
      this.dirty.delete(nodeId);
      try {
        await this.reconcile(nodeId);
      } catch (err) {
        this.log.error({ err, nodeId }, 'HAProxy route sync failed; the node is served by Berth until its next change');
        await this.unmap(nodeId).catch(() => undefined);
      }
    }
  }

  /** Makes what HAProxy holds for `nodeId` match its route. */
  private async reconcile(nodeId: string): Promise<void> {
    const route = this.routing.get(nodeId);
    const wanted = route && route.kind === 'docker' && route.backends.length > 0 ? route : undefined;
    let placed = this.placed.get(nodeId);
    if (!wanted) {
      if (placed) await this.release(nodeId, placed);
      return;
    }
    if (!placed) {
      const slot = this.freeSlots.pop();
      if (slot === undefined) {
        if (!this.warnedFull) this.log.warn({ nodeId }, 'every HAProxy slot is taken; further nodes are served by Berth');
        this.warnedFull = true;
        return;
      }
      placed = { slot, servers: new Map(), timeoutMs: -1, mapped: false };
      this.placed.set(nodeId, placed);
    }
    await this.placeServers(placed, wanted);
    const timeoutMs = serverTimeoutOf(wanted);
    if (timeoutMs !== placed.timeoutMs) {
      await this.admin.run(`set map ${this.mapFiles.timeouts} ${nodeId} ${timeoutMs}`).catch(() => this.admin.run(`add map ${this.mapFiles.timeouts} ${nodeId} ${timeoutMs}`));
      placed.timeoutMs = timeoutMs;
    }
    if (!placed.mapped) {
      await this.admin.run(`add map ${this.mapFiles.nodes} ${nodeId} ${slotName(placed.slot)}`);
      placed.mapped = true;
    }
  }

  private async placeServers(placed: Placed, route: NodeRoute): Promise<void> {
    const backend = slotName(placed.slot);
    const wanted = new Map(route.backends.map((b) => [serverName(b.instanceId), `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`]));
    for (const [name, address] of wanted) {
      if (placed.servers.get(name) === address) continue;
      const key = `${backend}/${name}`;
      if (placed.servers.has(name) || this.leaving.has(key)) {
        // Back again (or moved): out of maintenance at its current address.
        await this.admin.run(`set server ${key} state maint`);
        const [host, port] = splitAddress(address);
        await this.admin.run(`set server ${key} addr ${host} port ${port}`);
        await this.admin.run(`set server ${key} state ready`);
        this.leaving.delete(key);
      } else {
        const proto = route.endpointType === 'grpc' ? ' proto h2' : '';
        await this.admin.run(`add server ${key} ${address}${proto}`);
        await this.admin.run(`enable server ${key}`);
      }
      placed.servers.set(name, address);
    }
    for (const name of [...placed.servers.keys()]) {
      if (wanted.has(name)) continue;
      placed.servers.delete(name);
      await this.retire(placed.slot, name);
    }
  }

  /** The node no longer serves here: no new call reaches its slot; its servers leave; the slot is freed once they are gone. */
  private async release(nodeId: string, placed: Placed): Promise<void> {
    await this.unmap(nodeId);
    this.placed.delete(nodeId);
    for (const name of placed.servers.keys()) await this.retire(placed.slot, name);
    if (placed.timeoutMs >= 0) await this.admin.tryRun(`del map ${this.mapFiles.timeouts} ${nodeId}`);
    if (![...this.leaving.values()].some((l) => l.slot === placed.slot)) this.freeSlots.push(placed.slot);
  }

  private async unmap(nodeId: string): Promise<void> {
    const placed = this.placed.get(nodeId);
    if (placed && !placed.mapped) return;
    await this.admin.tryRun(`del map ${this.mapFiles.nodes} ${nodeId}`);
    if (placed) placed.mapped = false;
  }

  private async retire(slot: number, name: string): Promise<void> {
    const key = `${slotName(slot)}/${name}`;
    await this.admin.tryRun(`set server ${key} state maint`);
    this.leaving.set(key, { slot, name, since: Date.now() });
    this.scheduleDeletes();
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
    for (const [key, l] of [...this.leaving]) {
      if (this.closed) return;
      const { ok } = await this.admin.tryRun(`del server ${key}`).catch(() => ({ ok: false }));
      if (!ok && Date.now() - l.since < DELETE_GIVE_UP_MS) continue;
      if (!ok) this.log.warn({ server: key }, 'an HAProxy server kept connections open; left in maintenance');
      this.leaving.delete(key);
      const slotInUse = [...this.placed.values()].some((p) => p.slot === l.slot) || [...this.leaving.values()].some((o) => o.slot === l.slot);
      if (!slotInUse && !this.freeSlots.includes(l.slot)) this.freeSlots.push(l.slot);
    }
  }
}

/** How long an instance may stay silent on a fast-path call: the node's idle timeout, else its whole-call timeout, else a day. */
function serverTimeoutOf(route: NodeRoute): number {
  const limits = [route.idleTimeoutMs, route.timeoutMs].filter((ms) => ms > 0);
  return limits.length > 0 ? Math.min(...limits) : 86_400_000;
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return [host.startsWith('[') ? host.slice(1, -1) : host, address.slice(i + 1)];
}
