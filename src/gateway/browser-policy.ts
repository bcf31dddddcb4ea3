/**
 * What keeps a web page the user visits from turning Berth against them, on
 * every listener (REST, node API, gRPC), with or without authentication.
 *
 * A page cannot be stopped from *sending* a simple request (a form post, a
 * `no-cors` fetch) to 127.0.0.1; it can only be stopped from reading the
 * answer. So Berth refuses to act on what a page can send without asking:
 *
 * - **Origins.** A browser names the page's origin in `Origin` on every
 *   cross-origin fetch and every POST. A request whose `Origin` is not listed
 *   with `--cors-origin` is refused (403) before it does anything, and no
 *   CORS grant is ever given to it; a preflight from a listed origin is
 *   answered with that exact origin, never `*`, and never with credentials
 *   (the API authenticates by header, not by cookie).
 * - **DNS rebinding.** A page on `rebind.example` whose name is made to
 *   resolve to 127.0.0.1 is same-origin with itself, so `Origin` does not
 *   help; but its requests carry `Host: rebind.example`. On a loopback bind
 *   the `Host` (`:authority` over HTTP/2) must name a loopback address or a
 *   name listed with `--allowed-host`. On other binds nothing is checked
 *   unless `--allowed-host` is given; then the listed names, loopback
 *   addresses and IP literals (which no DNS answer can rebind) pass.
 *   A request naming no host at all (HTTP/1.0) is not a browser's and passes.
 * - **Bodies** are taken as JSON only with a JSON content type: that rule
 *   belongs to the REST listener (`src/api/rest/read-body.ts`), since the
 *   node API relays any body to instances.
 */

import net from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

/** What the flags say; the listener adds the address it binds to. */
export interface BrowserPolicyOptions {
  /** Exact origins (`scheme://host[:port]`) granted CORS; none unless given. */
  corsOrigins?: readonly string[];
  /** Host names accepted in `Host`/`:authority` besides loopback addresses. */
  allowedHosts?: readonly string[];
}

/** Methods and headers a listed origin may use (the API's own, and the node API's routing headers). */
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS = 'authorization, content-type, x-request-id, x-folder-id, x-node-id, x-node-alias';
/** How long a browser may keep a preflight's answer (Chromium caps it at 2 hours). */
const PREFLIGHT_MAX_AGE_SECONDS = '600';

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** `name`, `1.2.3.4` or `[::1]`, each with an optional port: what a Host header may hold. */
const HOST_HEADER = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9_.-]+))(?::\d{1,5})?$/i;
const HOST_NAME = /^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+$/i;

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped forms) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (name.toLowerCase() === 'localhost') return true;
  const family = net.isIP(name);
  if (family === 4) return LOOPBACK.check(name, 'ipv4');
  if (family === 6) return LOOPBACK.check(name, 'ipv6');
  return false;
}

/** Checks and normalises `--cors-origin` values: each an exact origin such as `https://app.example:8443`. */
export function parseCorsOrigins(values: readonly string[]): string[] {
  return values.map((value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new Error(`--cors-origin: ${JSON.stringify(value)} is not an origin such as https://app.example.com`);
    }
    const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '' && !value.endsWith('?') && !value.endsWith('#');
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !bare) {
      throw new Error(`--cors-origin: ${JSON.stringify(value)} must be an http or https origin (scheme://host[:port], no path), such as https://app.example.com`);
    }
    return url.origin;
  });
}

/** Checks and normalises `--allowed-host` values: host names (or addresses) without a port. */
export function parseAllowedHosts(values: readonly string[]): string[] {
  return values.map((value) => {
    const name = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
    if (net.isIP(name) === 0 && !HOST_NAME.test(name)) throw new Error(`--allowed-host: ${JSON.stringify(value)} is not a host name (give names without a scheme or port, such as berth.example.com)`);
    return name.toLowerCase();
  });
}

/** A comma-separated flag value as a list, blanks dropped. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

/** The browser rules of one listener; see the file comment. */
export class BrowserPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly allowedHosts: ReadonlySet<string>;
  /** Whether `Host` is checked at all: on loopback binds, or wherever names are listed. */
  private readonly checkHost: boolean;

  /** Whether `Host` is checked at all (a loopback bind, or `--allowed-host` given). */
  get checksHost(): boolean {
    return this.checkHost;
  }
  /** Off loopback binds, an IP literal in `Host` passes: no DNS answer can rebind it. */
  private readonly ipLiteralsPass: boolean;
  private lastAccepted: string | undefined;

  /** The rules for a listener bound to `bindHost`. */
  constructor(options: BrowserPolicyOptions, bindHost: string) {
    this.origins = new Set(options.corsOrigins ?? []);
    this.allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
    const loopbackBind = isLoopbackHost(bindHost);
    this.checkHost = loopbackBind || this.allowedHosts.size > 0;
    this.ipLiteralsPass = !loopbackBind;
  }

  /**
   * Why a request must be refused before anything else happens to it (the
   * host it names, then the origin it comes from), or undefined to go on.
   * Over HTTP/2 `headers` holds `:authority`.
   */
  refusal(headers: IncomingHttpHeaders): string | undefined {
    const host = single(headers[':authority']) ?? single(headers.host);
    const hostRefusal = this.hostRefusal(host);
    if (hostRefusal !== undefined) return hostRefusal;
    const origin = single(headers.origin);
    if (origin !== undefined && !this.origins.has(origin)) {
      return `a cross-origin request from ${JSON.stringify(origin).slice(0, 200)} is refused: no origin is allowed unless --cors-origin names it`;
    }
    return undefined;
  }

  /** Why a request naming `host` (its `Host` or `:authority`) is refused, or undefined. */
  hostRefusal(host: string | undefined): string | undefined {
    if (!this.checkHost || host === undefined || host === '' || host === this.lastAccepted) return undefined;
    const m = HOST_HEADER.exec(host);
    if (m !== null) {
      const name = (m[1] ?? m[2]!).toLowerCase();
      if (isLoopbackHost(name) || this.allowedHosts.has(name) || (this.ipLiteralsPass && net.isIP(name) !== 0)) {
        // Callers keep naming the same host: the node API checks it once, not per call.
        this.lastAccepted = host;
        return undefined;
      }
    }
    return `host ${JSON.stringify(host).slice(0, 200)} is not served here: requests must name a loopback address or a host given with --allowed-host (a guard against DNS rebinding)`;
  }

  /** A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
  isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
    return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
  }

  /**
   * The answer to a preflight from a listed origin (call after {@link refusal}
   * passed it). Chromium's Private Network Access asks public pages for a
   * grant before they reach a loopback address; a listed origin gets it.
   */
  preflightHeaders(headers: IncomingHttpHeaders): Record<string, string> {
    const out: Record<string, string> = {
      ...this.grantHeaders(headers),
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': PREFLIGHT_MAX_AGE_SECONDS,
    };
    if (single(headers['access-control-request-private-network']) === 'true') out['access-control-allow-private-network'] = 'true';
    return out;
  }

  /** The grant on an answer to a listed origin (every response header readable); undefined for any other request. */
  grantHeaders(headers: IncomingHttpHeaders): Record<string, string> | undefined {
    const origin = single(headers.origin);
    if (origin === undefined || !this.origins.has(origin)) return undefined;
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': '*', vary: 'Origin' };
  }
}
