/**
 * The node API as `berth serve` wires it: the resolver over the routing
 * table (with access checks per key), Berth's own node-API server, and the
 * data plane in front of it (`--data-plane`: HAProxy or Berth alone).
 */

import type { SecureContext } from 'node:tls';
import type { Config } from '../config';
import type { Caller } from '../domain/access';
import type { Aliases } from '../control/aliases';
import type { Authenticator } from '../control/authenticator';
import type { CallAccess } from '../control/call-access';
import type { Nodes } from '../control/nodes';
import type { Logger } from '../logger';
import type { BerthMetrics } from '../observability/berth-metrics';
import type { Observability } from '../observability/observability';
import { InFlightBalancer } from './balancer';
import { BrowserPolicy, type BrowserPolicyOptions } from './browser-policy';
import type { GrantedCall, GrantedCaller } from './haproxy/grants';
import { listenNodeApi, type NodeApiFront } from './haproxy/node-api-front';
import { createNodeApiServer, type NodeApiRoute, type NodeApiServer, type NodeApiServerOptions } from './node-api';
import { RoutingTableResolver } from './node-api-resolver';
import type { NodeWaker } from './node-waker';
import type { NodeRoute, RoutingTable } from './routing-table';

export interface NodeApiDeps {
  config: Config;
  log: Logger;
  routing: RoutingTable;
  nodes: Nodes;
  aliases: Aliases;
  authenticator: Authenticator;
  calls: CallAccess;
  waker: NodeWaker;
  metrics: BerthMetrics;
  observability: Observability;
  browser: BrowserPolicyOptions;
  tls: SecureContext | undefined;
  /** An instance refused or dropped a connection. */
  reportFailure(nodeId: string, instanceId: string, err: Error): void;
}

/** The caller as a grant names it; undefined for a key with a rate limit, whose every call Berth must count. */
function grantedCallerOf(caller: Caller): GrantedCaller | undefined {
  if (caller.key !== undefined && caller.key.rateLimitPerSecond > 0) return undefined;
  return { principalId: caller.principal.id || undefined, principalName: caller.principal.name, keyId: caller.keyId };
}

export class NodeApiWiring {
  readonly resolver: RoutingTableResolver;
  private readonly balancer = new InFlightBalancer();
  /** The caller Berth let through on a route, when HAProxy may let such calls through too (not for keys with a rate limit). */
  private readonly grantsOf = new WeakMap<NodeApiRoute, GrantedCaller>();
  private listening: NodeApiFront | undefined;

  constructor(private readonly d: NodeApiDeps) {
    const { config, authenticator, calls } = d;
    this.resolver = new RoutingTableResolver(
      d.routing,
      d.nodes,
      d.aliases,
      d.reportFailure,
      config.auth === 'none'
        ? undefined
        : async (route, target) => {
            const caller = await authenticator.authenticate(route.authorization);
            if ('nodeId' in target) await calls.node(caller, target.nodeId, route.folderId, 'x-node-id');
            else await calls.alias(caller, target.folderId, target.aliasName);
            // Only HAProxy learns from it: Berth alone keeps nothing per call.
            if (this.listening?.dataPlane !== 'haproxy') return;
            const granted = grantedCallerOf(caller);
            if (granted !== undefined) this.grantsOf.set(route, granted);
          },
      undefined,
      d.waker,
    );
  }

  /** Calls in flight on a Docker node's instances, through Berth's server and through HAProxy. */
  loadOf(route: NodeRoute): number {
    const haproxy = this.listening?.haproxy;
    return route.backends.reduce((sum, b) => sum + this.balancer.inFlightOf(b.instanceId) + (haproxy?.load(route.nodeId, b.instanceId) ?? 0), 0);
  }

  /** An alias changed here: the resolver and HAProxy read it again. */
  forgetAlias(folderId: string, name: string): void {
    this.resolver.forgetAlias(folderId, name);
    this.listening?.haproxy?.forgetAlias(folderId, name);
  }

  /** Starts listening on `--host`:`--node-api-port` (HAProxy there when it is the data plane). */
  async listen(): Promise<NodeApiFront> {
    const { config, log, metrics, observability, waker, authenticator, routing } = this.d;
    const hooks = metrics.nodeApiHooks();
    const makeServer = (extra: Pick<NodeApiServerOptions, 'onRouted' | 'publicHost'>): NodeApiServer =>
      createNodeApiServer({
        balancer: this.balancer,
        resolver: this.resolver,
        logger: log,
        maxBodyBytes: config.maxMessageBytes,
        drainTimeoutMs: config.shutdownGraceMs,
        timeouts: config.connectionTimeouts,
        browser: this.d.browser,
        // Behind HAProxy, Berth's own server is on loopback and HAProxy holds the certificate.
        tls: extra.publicHost === undefined ? this.d.tls : undefined,
        metrics: hooks,
        observability,
        ...extra,
      });
    this.listening = await listenNodeApi({
      dataPlane: config.dataPlane,
      haproxyBinary: config.haproxyBinary,
      host: config.host,
      port: config.nodeApiPort,
      makeServer,
      watchAliases: (listener) => this.resolver.onAliasRead(listener),
      grantsOf: this.grantsOf,
      checkHost: new BrowserPolicy(this.d.browser, config.host).checksHost,
      plane: {
        maxBodyBytes: config.maxMessageBytes,
        headerTimeoutMs: config.connectionTimeouts.headerTimeoutMs,
        idleTimeoutMs: config.connectionTimeouts.idleTimeoutMs,
        authNone: config.auth === 'none',
        tracing: Boolean(config.otlpEndpoint),
        tls: config.tls,
        routing,
        nodeIds: () => routing.nodeIds(),
        log,
        observability,
        onCallEnd: hooks.onCallEnd,
        noteCall: (nodeId) => waker.noteCall(nodeId),
        countKeyCall: (keyId) => authenticator.countCall(keyId),
        recheck: (call) => this.recheck(call),
        readAlias: (folderId, name) => this.resolver.readAlias(folderId, name),
      },
      log,
    });
    return this.listening;
  }

  /**
   * Decides again, on the caller's behalf, a call HAProxy keeps letting
   * through: the key still valid and allowed (not counted as a call; HAProxy's
   * log counts those), the node still in the folder named.
   */
  private async recheck(call: GrantedCall): Promise<GrantedCaller | undefined> {
    const slash = call.target.indexOf('/');
    if (this.d.config.auth === 'none') {
      if (slash >= 0) return {};
      const route = this.d.routing.get(call.target);
      return route !== undefined && (call.folderId === undefined || route.folderId === call.folderId) ? {} : undefined;
    }
    const caller = await this.d.authenticator.authenticate(call.authorization, false);
    const granted = grantedCallerOf(caller);
    if (granted === undefined) return undefined;
    if (slash >= 0) await this.d.calls.mayCallAlias(caller, call.target.slice(0, slash), call.target.slice(slash + 1));
    else await this.d.calls.mayCall(caller, call.target, call.folderId, 'x-node-id');
    return granted;
  }

  /** Stops the data plane and Berth's server (calls in flight get `graceMs`). */
  async close(graceMs: number): Promise<void> {
    await this.listening?.close(graceMs);
  }
}
