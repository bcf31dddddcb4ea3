/**
 * The HAProxy configuration Berth writes for its node API (`--data-plane
 * haproxy`). HAProxy holds nothing Berth cannot rebuild: the configuration
 * is fixed for the life of the process, and everything that changes (which
 * nodes it may serve, their instances, the callers Berth has let through)
 * is set at run time over the admin socket, into maps and empty backends.
 *
 * A call takes HAProxy's own path (the fast path) only when Berth has
 * already decided a call just like it: its node or alias is in `nodes.map`
 * (a Docker node with a healthy instance; an alias whose every target has
 * one), the caller's key, route and folder are in `grants.map` (Berth let
 * that key make that call within the last second),
 * the host is in `hosts.map` (Berth's host check passed it), the body's size
 * is declared and within the limit, and nothing in the head needs Berth (an
 * `Origin`, a connection upgrade, a repeated routing header).
 * Every other call goes on to Berth's own node-API server, unchanged, which
 * answers it exactly as it does without HAProxy: refusals, sleeping nodes,
 * rate-limited keys, bodies of undeclared length, gRPC.
 *
 * Only fast-path calls are logged by HAProxy (one JSON line each on its
 * stdout, which Berth turns into its own access line and metrics); the rest
 * are logged by Berth's server as usual.
 */

import path from 'node:path';

/** What the configuration depends on. */
export interface HaproxyConfigOptions {
  /** The directory of the admin socket, the maps and the certificate (private to Berth). */
  dir: string;
  /** Where callers connect: Berth's `--host` and `--node-api-port`. */
  bind: { host: string; port: number };
  /** Berth's own node-API server on loopback, where every call not taken by the fast path goes. */
  berthPort: number;
  /** Empty backends that nodes and aliases are given at run time. */
  slots: { nodes: number; aliases: number };
  /** Largest request and response body (Berth's `--max-message-bytes`). */
  maxBodyBytes: number;
  /** Head-read and keep-alive limits of callers' connections. */
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** `--auth none`: the caller's key is not part of a grant. */
  authNone: boolean;
  /** Whether Berth checks `Host` (a loopback bind, or `--allowed-host`): then only hosts Berth passed take the fast path. */
  checkHost: boolean;
  /** Spans are recorded (`--otlp-endpoint`): every call goes through Berth, which records them. */
  tracing: boolean;
  /** A PEM holding the certificate chain and key, for TLS on the bind. */
  tlsPem?: string;
}

/** The name of node slot `i`'s backend. */
export function slotName(i: number): string {
  return `n${i}`;
}

/** The name of alias slot `i`'s backend. */
export function aliasSlotName(i: number): string {
  return `a${i}`;
}

/** Files in the configuration's directory. */
export function haproxyPaths(dir: string): { config: string; admin: string; nodes: string; grants: string; hosts: string; timeouts: string; lua: string } {
  return {
    config: path.join(dir, 'haproxy.cfg'),
    lua: path.join(dir, 'response-limit.lua'),
    admin: path.join(dir, 'admin.sock'),
    nodes: path.join(dir, 'nodes.map'),
    grants: path.join(dir, 'grants.map'),
    hosts: path.join(dir, 'hosts.map'),
    timeouts: path.join(dir, 'timeouts.map'),
  };
}

/** A JSON error body in grpc-gateway's shape, as Berth's own refusals have. */
function jsonError(code: number, message: string): string {
  return JSON.stringify({ code, message, details: [] });
}

/** One line of HAProxy's log per fast-path call, read back by `access-reader.ts`. */
export const ACCESS_LOG_FORMAT =
  '{"target":"%[var(txn.target)]","alias":"%[var(txn.alias)]","grant":"%[var(txn.grant)]","server":"%s","status":%ST,"ms":%Ta,' +
  '"method":"%HM","path":"%[var(txn.path),json(utf8s)]","version":"%[var(txn.version)]","requestId":"%[var(txn.rid)]",' +
  '"bytesIn":%U,"bytesOut":%B,"retries":%rc,"termination":"%ts"}';

/** The head needs nothing of Berth's own (each is an acl of the frontend). */
const PLAIN_HEAD = 'folder_once auth_once no_origin no_upgrade plain_connection';

/**
 * The limit on answers without a declared length (chunked), which HAProxy
 * cannot check by a rule: a Lua filter counts their bytes as they pass and
 * cuts the call once they go over (the caller sees a truncated body, as from
 * Berth's own server). Answers with a length are checked by a rule before
 * their head goes out, and the filter leaves them alone.
 */
export const RESPONSE_LIMIT_LUA = `-- Written by Berth: the limit on answers of undeclared length (see config.ts).
local Limit = { max = 0 }
Limit.id = "berth response limit"
Limit.flags = filter.FLT_CFG_FL_HTX
Limit.__index = Limit

function Limit:new()
  return setmetatable({ bytes = 0 }, Limit)
end

function Limit:http_headers(txn, msg)
  if msg.channel:is_resp() and txn.f:res_hdr_cnt("content-length") == 0 then
    filter.register_data_filter(self, msg.channel)
  end
  return filter.CONTINUE
end

function Limit:http_payload(txn, msg)
  local len = msg:input()
  local data = msg:body(0, len)
  self.bytes = self.bytes + (data and #data or 0)
  if self.bytes > Limit.max then
    txn:done()
  end
  return len
end

core.register_filter("berth_response_limit", Limit, function(f, args)
  Limit.max = tonumber(args[1])
  return f
end)
`;

const SAFE_ID = '^[A-Za-z0-9._:-]{1,128}$';

/** The whole configuration file. */
export function renderHaproxyConfig(o: HaproxyConfigOptions): string {
  const p = haproxyPaths(o.dir);
  const bind = `${o.bind.host.includes(':') ? `[${o.bind.host}]` : o.bind.host}:${o.bind.port}`;
  const tls = o.tlsPem !== undefined ? ` ssl crt ${o.tlsPem} alpn h2,http/1.1` : '';
  const lines: string[] = [
    '# Written by Berth at start; Berth changes what it serves at run time over the admin socket.',
    'global',
    '  master-worker',
    `  stats socket ${p.admin} level admin mode 600`,
    '  nbthread 1',
    // 64 KiB buffers: bodies move in fewer, larger copies (docs/NODE-API-PROXY.md).
    '  tune.bufsize 65536',
    '  log stdout format raw local0',
    '  hard-stop-after 30s',
    `  lua-load ${p.lua}`,
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option http-keep-alive',
    '  timeout connect 5s',
    `  timeout client ${o.idleTimeoutMs}ms`,
    `  timeout http-request ${o.headerTimeoutMs}ms`,
    `  timeout http-keep-alive ${o.idleTimeoutMs}ms`,
    '  timeout server 24h',
    '  timeout tunnel 24h',
    // A call an instance did not take (refused, or closed before answering) is sent once more, to another instance.
    '  retries 1',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response',
    // A caller who leaves cancels the call on the instance (or on Berth, which gives back a place held for a waking node).
    '  option abortonclose',
    `  http-error status 502 content-type application/json string '${jsonError(14, 'the instance failed to answer the call')}'`,
    `  http-error status 503 content-type application/json string '${jsonError(14, 'no instance could take the call')}'`,
    `  http-error status 504 content-type application/json string '${jsonError(4, 'the instance did not answer in time (timeout)')}'`,
    '',
    'frontend node_api',
    `  bind ${bind}${tls}`,
    `  log-format '${ACCESS_LOG_FORMAT}'`,
    '  http-request set-var(txn.version) req.ver',
    '  http-request set-var(txn.path) path',
    `  http-request set-var(txn.rid) req.hdr(x-request-id) if { req.hdr_cnt(x-request-id) eq 1 } { req.hdr(x-request-id) -m reg ${SAFE_ID} }`,
    '  http-request set-var(txn.rid) uuid unless { var(txn.rid) -m found }',
    // What the head says about the fast path; each acl is a reason to leave the call to Berth when false.
    '  acl one_node req.hdr_cnt(x-node-id) eq 1',
    '  acl no_node req.hdr_cnt(x-node-id) eq 0',
    '  acl one_alias req.hdr_cnt(x-node-alias) eq 1',
    '  acl no_alias req.hdr_cnt(x-node-alias) eq 0',
    '  acl one_folder req.hdr_cnt(x-folder-id) eq 1',
    '  acl folder_once req.hdr_cnt(x-folder-id) le 1',
    '  acl auth_once req.fhdr_cnt(authorization) le 1',
    '  acl no_origin req.hdr_cnt(origin) eq 0',
    '  acl no_upgrade req.hdr_cnt(upgrade) eq 0',
    '  acl plain_connection req.hdr_cnt(connection) eq 0',
    '  acl plain_connection req.fhdr(connection) -i keep-alive close',
    // A declared length within the limit, or an HTTP/1 request without a body (neither length nor chunks).
    '  acl one_length req.hdr_cnt(content-length) eq 1',
    `  acl length_ok req.hdr(content-length) -m int le ${o.maxBodyBytes}`,
    '  acl no_chunks req.hdr_cnt(transfer-encoding) eq 0',
    '  acl no_length req.hdr_cnt(content-length) eq 0',
    '  acl http1 req.ver 1.0 1.1',
    `  http-request set-var(txn.plain) bool(true) if ${PLAIN_HEAD} one_length length_ok no_chunks || ${PLAIN_HEAD} http1 no_length no_chunks`,
    '  acl plain var(txn.plain) -m bool',
    // The route: a node by its id, or an alias as `folder/name`.
    '  http-request set-var(txn.target) req.hdr(x-node-id) if plain one_node no_alias',
    '  http-request set-var(txn.alias) req.hdr(x-node-alias) if plain no_node one_alias one_folder',
    '  http-request set-var(txn.target) req.hdr(x-folder-id),concat(/,txn.alias,) if { var(txn.alias) -m found }',
  ];
  if (o.tracing) lines.push('  http-request unset-var(txn.target)');
  if (o.checkHost) lines.push(`  http-request unset-var(txn.target) unless { req.hdr(host),map(${p.hosts}) -m found }`);
  lines.push(
    `  http-request set-var(txn.slot) var(txn.target),map(${p.nodes}) if { var(txn.target) -m found }`,
    o.authNone
      ? '  http-request set-var(txn.key) str(-)'
      : '  http-request set-var(txn.key) req.fhdr(authorization),sha2(256),hex,lower if { var(txn.slot) -m found } { req.fhdr_cnt(authorization) eq 1 }',
    '  http-request set-var(txn.key) str(-) unless { var(txn.key) -m found }',
    '  http-request set-var(txn.folder) req.hdr(x-folder-id)',
    '  http-request set-var(txn.grant) var(txn.key),concat(:,txn.target,:),concat(,txn.folder,) if { var(txn.slot) -m found }',
    `  http-request set-var(txn.principal) var(txn.grant),map(${p.grants}) if { var(txn.slot) -m found }`,
    '  acl fast var(txn.principal) -m found',
    // Berth's own headers go no further than here.
    '  http-request del-header x-node-id if fast',
    '  http-request del-header x-node-alias if fast',
    '  http-request del-header x-folder-id if fast',
    '  http-request del-header authorization if fast',
    '  http-request del-header proxy- -m beg if fast',
    '  http-request set-log-level silent unless fast',
    // An answer too large to relay whole is refused as Berth refuses it (its length declared).
    `  http-response return status 502 content-type application/json string '${jsonError(8, `the response body is over the limit of ${o.maxBodyBytes} bytes`)}' if fast { res.hdr(content-length) -m int gt ${o.maxBodyBytes} } !{ method HEAD }`,
    '  http-response del-header access-control- -m beg if fast',
    // Servers are named `<node id>.<instance id>`.
    '  http-response set-header x-berth-node-id %[srv_name,field(1,.)] if fast',
    '  http-response set-header x-berth-instance-id %[srv_name,field(2,.)] if fast',
    '  http-response set-header x-request-id %[var(txn.rid)] if fast',
    '  use_backend %[var(txn.slot)] if fast',
    '  use_backend berth_h2 if !http1',
    '  default_backend berth_h1',
    '',
    // Berth's own server: no retries (it never received the call only when it is down), no timeouts of HAProxy's.
    'backend berth_h1',
    '  retries 0',
    `  server berth 127.0.0.1:${o.berthPort}`,
    '',
    'backend berth_h2',
    '  retries 0',
    `  server berth 127.0.0.1:${o.berthPort} proto h2`,
  );
  // The node's own limit on an instance's silence (its idle timeout, else its whole-call timeout).
  const timeout = `  http-request set-timeout server var(txn.target),map_str_int(${p.timeouts},86400000)`;
  const limit = `  filter lua.berth_response_limit ${o.maxBodyBytes}`;
  // A node's calls go to its least busy instance; an alias's to its targets by weight, in turn (exact shares; a random draw over
  // HAProxy's hash ring strays several points from the weights with few servers).
  for (let i = 0; i < o.slots.nodes; i++) lines.push('', `backend ${slotName(i)}`, '  balance leastconn', timeout, limit);
  for (let i = 0; i < o.slots.aliases; i++) lines.push('', `backend ${aliasSlotName(i)}`, '  balance roundrobin', timeout, limit);
  return `${lines.join('\n')}\n`;
}
