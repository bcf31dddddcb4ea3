#!/usr/bin/env node
// Copies the few google/api and google/rpc files that proto/ imports from the
// google-proto-files package into .proto-vendor/, the second module of buf.yaml,
// and the grpc.health.v1 and grpc.reflection files of the packages that serve
// them, so that the descriptor set describes everything the gRPC port serves.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILES = [
  'google/api/annotations.proto',
  'google/api/http.proto',
  'google/api/field_behavior.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
  'google/rpc/code.proto',
];

const source = path.dirname(require.resolve('google-proto-files/package.json'));
const target = path.join(__dirname, '..', '.proto-vendor');
for (const file of FILES) {
  fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
  fs.copyFileSync(path.join(source, file), path.join(target, file));
}

// Under the names the gRPC project gives them.
const health = path.join(path.dirname(require.resolve('grpc-health-check')), '..', '..', 'proto');
const reflection = path.join(path.dirname(require.resolve('@grpc/reflection')), '..', 'proto');
const GRPC_FILES = [
  [path.join(health, 'health/v1/health.proto'), 'grpc/health/v1/health.proto'],
  [path.join(reflection, 'grpc/reflection/v1/reflection.proto'), 'grpc/reflection/v1/reflection.proto'],
  [path.join(reflection, 'grpc/reflection/v1alpha/reflection.proto'), 'grpc/reflection/v1alpha/reflection.proto'],
];
for (const [from, file] of GRPC_FILES) {
  fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
  fs.copyFileSync(from, path.join(target, file));
}
