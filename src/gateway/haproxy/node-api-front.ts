/**
 * Where the node API listens, by `--data-plane`: Berth's own server on
 * `--host`:`--node-api-port` (builtin), or HAProxy there with Berth's server
 * behind it on loopback (haproxy; `auto` picks it when the binary exists).
 */

import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { executable } from '../../host-checks';
import type { NodeApiRoute, NodeApiServer, NodeApiServerOptions } from '../node-api';
import { HaproxyDataPlane, type HaproxyDataPlaneOptions } from './data-plane';
import type { GrantedCaller } from './grants';
import { aliasKey } from './route-sync';

export interface NodeApiFront {
  /** The port callers connect to. */
  port: number;
  /** Which data plane relays calls. */
  dataPlane: 'builtin' | 'haproxy';
  /** HAProxy, with `--data-plane haproxy`. */
  haproxy?: HaproxyDataPlane;
  /** Stops HAProxy (if any), then Berth's server. */
  close(graceMs: number): Promise<void>;
}

export interface NodeApiFrontOptions {
  dataPlane: 'builtin' | 'haproxy' | 'auto';
  haproxyBinary: string;
  host: string;
  port: number;
  /** Calls `listener` with each alias Berth reads for a call (HAProxy serves the alias from then on). */
  watchAliases(listener: (alias: { folderId: string; name: string; id: string; targets: ReadonlyArray<{ nodeId: string; weight: number }> }) => void): void;
  /** Builds Berth's own server with the two options this file supplies. */
  makeServer(extra: Pick<NodeApiServerOptions, 'onRouted' | 'publicHost'>): NodeApiServer;
  /**
   * The caller Berth let through on a route (set by the authorizer), when
   * the call may be granted to HAProxy: absent for keys with a rate limit.
   * Unused under `--auth none`, where every route Berth resolves is granted.
   */
  grantsOf: WeakMap<NodeApiRoute, GrantedCaller>;
  checkHost: boolean;
  plane: Omit<HaproxyDataPlaneOptions, 'binary' | 'bind' | 'berthPort' | 'checkHost'>;
  log: Logger;
}

/** A port free on `host` now, for HAProxy to bind when `--node-api-port 0` asks for any. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export async function listenNodeApi(o: NodeApiFrontOptions): Promise<NodeApiFront> {
  const useHaproxy = o.dataPlane === 'haproxy' || (o.dataPlane === 'auto' && executable(o.haproxyBinary));
  if (!useHaproxy) return listenBuiltin(o);
  if (!executable(o.haproxyBinary)) throw new Error(`--data-plane haproxy: no HAProxy at ${o.haproxyBinary} (install Debian's haproxy, or give its path with --haproxy)`);

  let plane: HaproxyDataPlane | undefined;
  const authNone = o.plane.authNone;
  const onRouted = (headers: IncomingHttpHeaders, route: NodeApiRoute, nodeId: string): void => {
    if (plane === undefined) return;
    // The route as HAProxy keys it: the node's id, or the alias's `folder/name`.
    const target = route.nodeId !== undefined ? nodeId : route.aliasName !== undefined && route.folderId !== undefined ? aliasKey(route.folderId, route.aliasName) : undefined;
    if (target === undefined) return;
    const host = headers.host ?? headers[':authority'];
    plane.allowHost(typeof host === 'string' ? host : undefined);
    const caller = authNone ? {} : o.grantsOf.get(route);
    if (caller !== undefined) plane.grant(route.authorization, target, route.folderId, caller);
  };
  const server = o.makeServer({ onRouted, publicHost: o.host });
  const berthPort = (await server.listen(0, '127.0.0.1')).port;
  try {
    const port = o.port === 0 ? await freePort(o.host) : o.port;
    plane = await HaproxyDataPlane.start({ ...o.plane, binary: o.haproxyBinary, bind: { host: o.host, port }, berthPort, checkHost: o.checkHost });
    const started = plane;
    o.watchAliases((alias) => started.learnAlias(alias));
    return {
      port,
      dataPlane: 'haproxy',
      haproxy: started,
      close: async (graceMs) => {
        await started.stop(graceMs);
        await server.close();
      },
    };
  } catch (err) {
    await server.close();
    if (o.dataPlane === 'haproxy') throw err;
    // auto: HAProxy is there but would not start; Berth's own server takes its place.
    o.log.warn({ err: (err as Error).message }, 'HAProxy did not start; the node API is served by Berth alone (--data-plane builtin)');
    return listenBuiltin(o);
  }
}

async function listenBuiltin(o: NodeApiFrontOptions): Promise<NodeApiFront> {
  const server = o.makeServer({});
  const port = (await server.listen(o.port, o.host)).port;
  return { port, dataPlane: 'builtin', close: () => server.close() };
}
