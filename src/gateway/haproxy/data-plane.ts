/**
 * `--data-plane haproxy`: HAProxy in front of Berth's own node-API server.
 * HAProxy listens where callers connect and relays the calls Berth has
 * already decided (see `config.ts`) straight to instances; everything else
 * reaches Berth's server on loopback unchanged. Berth stays the only
 * authority: it starts and supervises HAProxy, keeps its routes equal to the
 * routing table (`route-sync.ts`), copies its own access decisions into it
 * (`grants.ts`), and reads its log back into Berth's access log and metrics
 * (`access-reader.ts`).
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { RoutingTable } from '../routing-table';
import type { NodeApiCallEvent } from '../node-api/node-api-metrics';
import type { Observability } from '../../observability/observability';
import { processAlive } from '../../host-checks';
import { AccessReader } from './access-reader';
import { AdminSocket } from './admin-socket';
import { haproxyPaths, renderHaproxyConfig, RESPONSE_LIMIT_LUA, type HaproxyConfigOptions } from './config';
import { Grants, type GrantedCaller, type Recheck } from './grants';
import { HaproxyProcess } from './haproxy-process';
import { RouteSync, serverName, type ReadAlias } from './route-sync';

/** Where `berth serve` looks for HAProxy unless told (`--haproxy`). */
export const DEFAULT_HAPROXY_BINARY = '/usr/sbin/haproxy';
/** Nodes and aliases HAProxy can serve at once; further ones are served by Berth's own server. */
const SLOTS = { nodes: 256, aliases: 64 };
const LOAD_POLL_MS = 500;

/** What the configuration needs (see `config.ts`), and what the running data plane needs besides. */
export interface HaproxyDataPlaneOptions
  extends Pick<HaproxyConfigOptions, 'bind' | 'berthPort' | 'maxBodyBytes' | 'headerTimeoutMs' | 'idleTimeoutMs' | 'authNone' | 'checkHost' | 'tracing'> {
  binary: string;
  tls?: { cert: Buffer; key: Buffer };
  routing: RoutingTable;
  /** Every node id with a route now (HAProxy is told about each at start and after a restart). */
  nodeIds(): Iterable<string>;
  log: Logger;
  observability?: Observability;
  onCallEnd?(event: NodeApiCallEvent): void;
  noteCall(nodeId: string): void;
  countKeyCall?(keyId: string): void;
  /** Decides a grant HAProxy used again (see `grants.ts`). */
  recheck: Recheck;
  /** Reads an alias HAProxy serves again (see `route-sync.ts`). */
  readAlias: ReadAlias;
}

export class HaproxyDataPlane {
  private loads = new Map<string, number>();
  private loadTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly dir: string,
    private readonly process: HaproxyProcess,
    private readonly routes: RouteSync,
    private readonly grants: Grants,
    private readonly admin: AdminSocket,
    private readonly log: Logger,
  ) {}

  /** Writes the configuration, starts HAProxy and waits until it serves every node the routing table has. */
  static async start(o: HaproxyDataPlaneOptions): Promise<HaproxyDataPlane> {
    const log = o.log.child({ component: 'haproxy' });
    removeDeadDirs(log);
    const dir = mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
    writeFileSync(path.join(dir, OWNER_FILE), String(process.pid), { mode: 0o600 });
    const files = haproxyPaths(dir);
    for (const map of [files.nodes, files.grants, files.hosts, files.timeouts]) writeFileSync(map, '', { mode: 0o600 });
    writeFileSync(files.lua, RESPONSE_LIMIT_LUA, { mode: 0o600 });
    // The certificate's key is on disk only while HAProxy starts (it reads it once); it is written again for a restart.
    const tlsPem = o.tls ? path.join(dir, 'node-api.pem') : undefined;
    const writePem = (): void => {
      if (tlsPem && o.tls) writeFileSync(tlsPem, Buffer.concat([o.tls.cert, Buffer.from('\n'), o.tls.key]), { mode: 0o600 });
    };
    const removePem = (): void => {
      if (tlsPem) rmSync(tlsPem, { force: true });
    };
    writeFileSync(
      files.config,
      renderHaproxyConfig({
        dir,
        bind: o.bind,
        berthPort: o.berthPort,
        slots: SLOTS,
        maxBodyBytes: o.maxBodyBytes,
        headerTimeoutMs: o.headerTimeoutMs,
        idleTimeoutMs: o.idleTimeoutMs,
        authNone: o.authNone,
        checkHost: o.checkHost,
        tracing: o.tracing,
        tlsPem,
      }),
      { mode: 0o600 },
    );
    const admin = new AdminSocket(files.admin);
    const routes = new RouteSync(o.routing, admin, files, SLOTS, o.readAlias, log);
    const grants = new Grants(admin, files, o.authNone, o.recheck, log);
    const reader = new AccessReader({
      observability: o.observability,
      onCallEnd: o.onCallEnd,
      noteCall: o.noteCall,
      countKeyCall: o.countKeyCall,
      callerOf: (grant) => grants.callerOf(grant),
      aliasUsed: (key) => routes.aliasUsed(key),
      log,
    });
    let started = false;
    const child = new HaproxyProcess({
      binary: o.binary,
      configFile: files.config,
      admin,
      log,
      onLine: (line) => reader.line(line),
      beforeStart: writePem,
      onReady: async () => {
        removePem();
        // A restart: HAProxy's maps and slots are empty again.
        if (started) {
          await grants.rewrite();
          await routes.resetAll(o.nodeIds());
        }
      },
    });
    const plane = new HaproxyDataPlane(dir, child, routes, grants, admin, log);
    try {
      await child.start();
      started = true;
      routes.watch(o.nodeIds);
      await routes.settled();
    } catch (err) {
      await plane.stop(0);
      throw err;
    }
    plane.pollLoads();
    log.info({ address: o.bind.host, port: o.bind.port, berthPort: o.berthPort, pid: child.pid() }, 'HAProxy serves the node API');
    return plane;
  }

  /** Berth's own path let this call through (to a node id, or an alias's `folder/name`): calls like it may take HAProxy's path for a while. */
  grant(authorization: string | undefined, target: string, folderId: string | undefined, caller: GrantedCaller): void {
    this.grants.grant(authorization, target, folderId, caller);
  }

  /** Berth read this alias for a call: HAProxy may serve calls through it, with these targets and weights. */
  learnAlias(alias: { folderId: string; name: string; id: string; targets: ReadonlyArray<{ nodeId: string; weight: number }> }): void {
    this.routes.learnAlias(alias);
  }

  /** The alias changed here: HAProxy leaves its calls to Berth until Berth reads it again. */
  forgetAlias(folderId: string, name: string): void {
    this.routes.forgetAlias(folderId, name);
  }

  /** Berth's host check passed this `Host`. */
  allowHost(host: string | undefined): void {
    this.grants.allowHost(host);
  }

  /** Calls in flight on an instance through HAProxy's path (sampled every half second), by node or through aliases. */
  load(nodeId: string, instanceId: string): number {
    return this.loads.get(serverName(nodeId, instanceId)) ?? 0;
  }

  /** Stops HAProxy (calls in flight get `graceMs`) and removes its files. */
  async stop(graceMs: number): Promise<void> {
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.loadTimer = undefined;
    this.routes.close();
    this.grants.close();
    await this.process.stop(graceMs);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pollLoads(): void {
    this.loadTimer = setTimeout(() => {
      this.admin
        .run('show stat')
        .then((csv) => {
          this.loads = parseServerLoads(csv);
        })
        .catch((err: Error) => this.log.debug({ err: err.message }, 'HAProxy stats not read'))
        .finally(() => {
          if (this.loadTimer !== undefined) this.pollLoads();
        });
    }, LOAD_POLL_MS);
    this.loadTimer.unref();
  }
}

const DIR_PREFIX = 'berth-haproxy-';
/** The pid of the Berth process a directory belongs to. */
const OWNER_FILE = 'berth.pid';

/** Removes what Berth processes that were killed left of their HAProxy (its directory: maps, socket), once they are gone. */
function removeDeadDirs(log: Logger): void {
  let entries: string[];
  try {
    entries = readdirSync(os.tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
      log.debug({ dir, owner }, 'removed the HAProxy directory of a Berth process that is gone');
    } catch {
      // Not ours to judge (no owner file), or gone meanwhile.
    }
  }
}

/** `show stat`'s current sessions (`scur`) per server of the node and alias slots, summed by server name. */
export function parseServerLoads(csv: string): Map<string, number> {
  const lines = csv.split('\n');
  const header = (lines[0] ?? '').replace(/^# /, '').split(',');
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const scur = header.indexOf('scur');
  const loads = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const backend = f[px] ?? '';
    const server = f[sv] ?? '';
    if (!/^[na]\d+$/.test(backend) || server === 'BACKEND' || server === '') continue;
    loads.set(server, (loads.get(server) ?? 0) + Number(f[scur] ?? 0));
  }
  return loads;
}
