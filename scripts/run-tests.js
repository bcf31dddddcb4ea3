#!/usr/bin/env node
// Runs every test/**/*.test.ts file (or the files given) with node's test
// runner through tsx, one file at a time, and exits with its status.
//
// A run that hangs fails instead of waiting forever: each test (and hook) has
// BERTH_TEST_TIMEOUT_MS (default 10 min), a file whose tests are over exits
// even if something it started still holds the event loop, and when the run
// prints nothing for BERTH_TEST_STALL_MS (default 15 min) the processes still
// running are listed and the run is stopped with a failure.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function find(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const root = path.join(__dirname, '..');
const files = process.argv.length > 2 ? process.argv.slice(2) : find(path.join(root, 'test')).map((f) => path.relative(root, f)).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.BERTH_TEST_CONCURRENCY ?? '1';
const testTimeoutMs = Number(process.env.BERTH_TEST_TIMEOUT_MS ?? 10 * 60_000);
const stallMs = Number(process.env.BERTH_TEST_STALL_MS ?? 15 * 60_000);

const child = spawn(
  process.execPath,
  [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec',
    `--test-timeout=${testTimeoutMs}`, '--test-force-exit', ...files,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
);

let lastOutput = Date.now();
let stalled = false;
child.stdout.on('data', (chunk) => {
  lastOutput = Date.now();
  process.stdout.write(chunk);
});
child.stderr.on('data', (chunk) => {
  lastOutput = Date.now();
  process.stderr.write(chunk);
});

/** What is still running under the test runner, for the report of a stalled run. */
function processTree() {
  try {
    return execFileSync('ps', ['-e', '--forest', '-o', 'pid,ppid,etime,args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    return `ps failed: ${err.message}`;
  }
}

const watchdog = setInterval(() => {
  if (Date.now() - lastOutput < stallMs) return;
  stalled = true;
  clearInterval(watchdog);
  console.error(`\nthe test run printed nothing for ${Math.round(stallMs / 1000)} s; the processes still running:\n${processTree()}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}, 10_000);

child.on('close', (code, signal) => {
  clearInterval(watchdog);
  if (stalled) {
    console.error('the test run was stopped: it stalled');
    process.exit(1);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
    process.exit(1);
  });
}
