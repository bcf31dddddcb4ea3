/**
 * HAProxy's log of fast-path calls (one JSON line each, `ACCESS_LOG_FORMAT`
 * in `config.ts`) turned into what Berth's own node-API server records for a
 * call: the access line, the node's call metrics, the call counted for the
 * node's idle window (scale to zero) and for the key's use.
 */

import type { Logger } from 'pino';
import type { NodeApiCallEvent } from '../node-api/node-api-metrics';
import type { Observability } from '../../observability/observability';
import type { GrantedCaller } from './grants';

/** A line as HAProxy writes it. */
interface Logged {
  /** The node id, or `folder/name` for an alias. */
  target: string;
  /** The alias's name, empty for a call to a node. */
  alias: string;
  grant: string;
  /** `<node id>.<instance id>`, or `<NOSRV>` when no instance was reached. */
  server: string;
  status: number;
  ms: number;
  method: string;
  path: string;
  version: string;
  requestId: string;
  bytesIn: number;
  bytesOut: number;
  retries: number;
  termination: string;
}

export interface AccessReaderDeps {
  observability?: Observability;
  onCallEnd?(event: NodeApiCallEvent): void;
  /** A call reached the node (its idle window starts again). */
  noteCall(nodeId: string): void;
  /** A call went through the alias (`folder/name`). */
  aliasUsed?(key: string): void;
  /** Who the grant of a logged call stands for. */
  callerOf(grant: string): GrantedCaller | undefined;
  /** One call made with this key. */
  countKeyCall?(keyId: string): void;
  log: Logger;
}

export class AccessReader {
  constructor(private readonly deps: AccessReaderDeps) {}

  /** One line of HAProxy's stdout: a fast-path call, or one of HAProxy's own messages (logged at debug). */
  line(text: string): void {
    if (!text.startsWith('{"target":')) {
      if (text.length > 0) this.deps.log.debug({ haproxy: text }, 'HAProxy');
      return;
    }
    let c: Logged;
    try {
      c = JSON.parse(text) as Logged;
    } catch {
      this.deps.log.warn({ line: text.slice(0, 300) }, 'an HAProxy log line could not be read');
      return;
    }
    // A connection closed before a whole request (a port probe, a load generator's last idle connections) names no route: not a call.
    if (c.target === '-' || c.target === '') {
      this.deps.log.debug({ haproxy: text.slice(0, 300) }, 'HAProxy: a connection without a request');
      return;
    }
    const caller = this.deps.callerOf(c.grant);
    const dot = c.server.indexOf('.');
    const reached = !c.server.startsWith('<') && dot > 0;
    const instanceId = reached ? c.server.slice(dot + 1) : undefined;
    const aliasName = c.alias === '' ? undefined : c.alias;
    // Through an alias, the node is the one whose instance answered.
    const nodeId = reached ? c.server.slice(0, dot) : aliasName === undefined ? c.target : undefined;
    const protocol = c.version.startsWith('2') ? 'http2' : 'http1';
    // HAProxy's -1: the caller left before the answer (Berth's servers count it as 499).
    const status = c.status > 0 ? c.status : 499;
    const durationMs = Math.max(0, c.ms);
    if (nodeId !== undefined) this.deps.noteCall(nodeId);
    if (aliasName !== undefined) this.deps.aliasUsed?.(c.target);
    if (caller?.keyId !== undefined) this.deps.countKeyCall?.(caller.keyId);
    this.deps.observability?.record({
      listener: 'node-api',
      protocol,
      requestId: c.requestId,
      httpMethod: c.method,
      // HAProxy's `path` has no query string.
      path: c.path.slice(0, 200),
      nodeId,
      aliasName,
      instanceId,
      status,
      durationMs,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      principalId: caller?.principalId,
      principal: caller?.principalName,
      dataPlane: 'haproxy',
    });
    try {
      this.deps.onCallEnd?.({ nodeId, aliasName, instanceId, protocol, grpc: false, httpStatus: status, attempts: 1 + Math.max(0, c.retries), durationMs });
    } catch (err) {
      this.deps.log.error({ err }, 'node-API metrics hook threw');
    }
  }
}
