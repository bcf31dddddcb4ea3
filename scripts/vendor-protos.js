#!/usr/bin/env node
// Copies the few google/api and google/rpc files that proto/ imports from the
// google-proto-files package into .proto-vendor/, the second module of buf.yaml.
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
