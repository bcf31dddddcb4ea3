'use strict';
/**
 * The HTTP server inside the `berth-test-http` image: a small, dependency-free
 * service whose every behaviour is something a Berth test needs to provoke
 * (health flips, slow and streamed answers, exits, memory pressure, the
 * request headers as they arrive: GET /headers).
 *
 * Environment:
 *   PORT               port to listen on (default 8080)
 *   HEALTHY=false      /healthz answers 500 (as does the file /tmp/unhealthy)
 *   STARTUP_DELAY_MS   wait this long before listening (a slow start)
 *   BERTH_INSTANCE_ID  reported by /whoami
 *
 * GET /metrics answers Prometheus text with a custom counter,
 * `berth_test_http_requests_total`: the requests this server answered,
 * by status, /healthz and /metrics left out (the node's telemetry endpoint).
 *
 * With LOG_REQUESTS=true it prints one line per request (but health checks) on stdout: `request GET /path`.
 */
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');

const port = Number(process.env.PORT || 8080);
const startupDelayMs = Number(process.env.STARTUP_DELAY_MS || 0);
const unhealthyFile = '/tmp/unhealthy';
/** Kept alive on purpose by /alloc so that the memory stays charged to the container. */
const hoard = [];
/** Requests answered, by status (GET /metrics). */
const answered = new Map();

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function intParam(url, name, fallback) {
  const raw = url.searchParams.get(name);
  const value = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(value) ? value : fallback;
}

function healthy() {
  return process.env.HEALTHY !== 'false' && !fs.existsSync(unhealthyFile);
}

async function handle(req, res) {
  const url = new URL(req.url || '/', 'http://localhost');
  const path = url.pathname;

  if (req.method === 'GET' && path === '/healthz') {
    return healthy() ? send(res, 200, 'ok\n') : send(res, 500, 'unhealthy\n');
  }

  if (req.method === 'GET' && path === '/metrics') {
    let text = '# HELP berth_test_http_requests_total Requests this server answered, by status.\n# TYPE berth_test_http_requests_total counter\n';
    for (const [code, n] of answered) text += `berth_test_http_requests_total{code="${code}"} ${n}\n`;
    return send(res, 200, text, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  }

  if (req.method === 'GET' && path === '/whoami') {
    return send(res, 200, {
      hostname: os.hostname(),
      instance: process.env.BERTH_INSTANCE_ID ?? null,
      pid: process.pid,
    });
  }

  if (req.method === 'GET' && path === '/headers') {
    return send(res, 200, { headers: req.headers });
  }

  if (req.method === 'POST' && path === '/echo') {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    res.writeHead(200, {
      'content-type': req.headers['content-type'] || 'application/octet-stream',
      'content-length': body.length,
      'x-echo-len': String(body.length),
    });
    return res.end(body);
  }

  if (req.method === 'GET' && path === '/slow') {
    const ms = intParam(url, 'ms', 1000);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return send(res, 200, { slept: ms });
  }

  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status) {
    const code = Number(status[1]);
    return send(res, code, { status: code });
  }

  if (req.method === 'GET' && path === '/stream') {
    const n = intParam(url, 'n', 5);
    const ms = intParam(url, 'ms', 20);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    for (let i = 0; i < n; i++) {
      res.write(`line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    return res.end();
  }

  if (req.method === 'POST' && path === '/exit') {
    const code = intParam(url, 'code', 1);
    console.log(`exiting with code ${code} on request`);
    send(res, 200, { exiting: code });
    return setTimeout(() => process.exit(code), 50);
  }

  if (req.method === 'POST' && path === '/alloc') {
    const mb = intParam(url, 'mb', 64);
    // fill() touches every page so the memory is really resident, not just reserved.
    for (let i = 0; i < mb; i++) hoard.push(Buffer.alloc(1024 * 1024).fill(1));
    return send(res, 200, { allocatedMb: hoard.length });
  }

  return send(res, 404, { error: `no route for ${req.method} ${path}` });
}

const logRequests = process.env.LOG_REQUESTS === 'true';

const server = http.createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (path !== '/healthz' && path !== '/metrics') res.on('finish', () => answered.set(res.statusCode, (answered.get(res.statusCode) || 0) + 1));
  if (logRequests && req.url !== '/healthz') console.log(`request ${req.method} ${req.url}`);
  handle(req, res).catch((err) => {
    console.error('request failed:', err);
    if (!res.headersSent) send(res, 500, { error: String(err) });
    else res.destroy();
  });
});

function shutdown(signal) {
  console.log(`${signal} received, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}

// As PID 1 in a container, node gets no default signal handlers: without these,
// SIGTERM would be ignored and every stop would wait for SIGKILL.
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

setTimeout(() => {
  server.listen(port, '0.0.0.0', () => {
    console.log(`berth-test-http listening on :${port}`);
  });
}, startupDelayMs);
