'use strict';
/**
 * The gRPC server inside the `berth-test-grpc` image: `berth.test.Echo` (see
 * echo.proto) plus `grpc.health.v1.Health`. Bundled into one file for the
 * image; runs unbundled from the repository as well.
 *
 * Environment:
 *   PORT               port to listen on (default 50051)
 *   HEALTHY=false      the health service reports NOT_SERVING (as it does
 *                      while the file /tmp/unhealthy exists)
 *   BERTH_INSTANCE_ID  reported in replies and the `x-instance` trailer
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { HealthImplementation } = require('grpc-health-check');

const port = Number(process.env.PORT || 50051);
const instance = process.env.BERTH_INSTANCE_ID || os.hostname();
const unhealthyFile = '/tmp/unhealthy';

const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'), {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
});
const echoService = grpc.loadPackageDefinition(definition).berth.test.Echo.service;

function currentStatus() {
  return process.env.HEALTHY !== 'false' && !fs.existsSync(unhealthyFile) ? 'SERVING' : 'NOT_SERVING';
}

let status = currentStatus();
const health = new HealthImplementation({ '': status, 'berth.test.Echo': status });
// The health service keeps a status map; follow the file so tests can flip it at
// run time (only on change, so that Watch streams see transitions, not noise).
setInterval(() => {
  const next = currentStatus();
  if (next === status) return;
  status = next;
  health.setStatus('', status);
  health.setStatus('berth.test.Echo', status);
}, 200).unref();

const server = new grpc.Server();
health.addToServer(server);
server.addService(echoService, {
  echo(call, callback) {
    const header = new grpc.Metadata();
    for (const value of call.metadata.get('x-test')) header.add('x-test', String(value));
    call.sendMetadata(header);
    const trailer = new grpc.Metadata();
    trailer.set('x-instance', instance);
    callback(null, { message: call.request.message, instance }, trailer);
  },

  fail(call, callback) {
    callback({ code: call.request.code || grpc.status.UNKNOWN, details: call.request.message });
  },

  count(call) {
    const n = call.request.n;
    const interval = call.request.intervalMs;
    let i = 0;
    const next = () => {
      if (call.cancelled) return;
      if (i >= n) {
        call.end();
        return;
      }
      call.write({ i });
      i += 1;
      setTimeout(next, interval);
    };
    next();
  },
});

server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error('bind failed:', err);
    process.exit(1);
  }
  console.log(`berth-test-grpc listening on :${bound}`);
});

function shutdown(signal) {
  console.log(`${signal} received, closing`);
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 10_000).unref();
}

// As PID 1 in a container, node gets no default signal handlers.
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
