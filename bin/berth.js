#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const built = path.join(__dirname, '..', 'dist', 'src', 'cli', 'berth.js');
if (fs.existsSync(built)) {
  require(built);
} else {
  // A checkout that was not built yet: run the TypeScript sources directly.
  require('tsx/cjs');
  require(path.join(__dirname, '..', 'src', 'cli', 'berth.ts'));
}
