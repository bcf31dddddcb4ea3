/**
 * The connection limits in `berth serve`'s configuration: defaults, flags
 * over `BERTH_*` variables, and clear errors for values Node cannot use.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';

describe('connection timeouts configuration', () => {
  it('defaults to a 10 s head limit and a 65 s idle limit', () => {
    assert.deepEqual(loadConfig([], {}).connectionTimeouts, { headerTimeoutMs: 10_000, idleTimeoutMs: 65_000 });
  });

  it('takes flags over environment variables', () => {
    const env = { BERTH_HEADER_TIMEOUT_MS: '2000', BERTH_CONNECTION_IDLE_TIMEOUT_MS: '3000' };
    assert.deepEqual(loadConfig([], env).connectionTimeouts, { headerTimeoutMs: 2000, idleTimeoutMs: 3000 });
    assert.deepEqual(loadConfig(['--header-timeout-ms', '1500', '--connection-idle-timeout-ms', '0'], env).connectionTimeouts, {
      headerTimeoutMs: 1500,
      idleTimeoutMs: 0,
    });
  });

  it('refuses negative, fractional and timer-overflowing values, naming the flag', () => {
    assert.throws(() => loadConfig(['--header-timeout-ms=-1'], {}), /--header-timeout-ms must be a whole number/);
    assert.throws(() => loadConfig(['--connection-idle-timeout-ms', '1.5'], {}), /--connection-idle-timeout-ms must be a whole number/);
    assert.throws(() => loadConfig(['--connection-idle-timeout-ms', '3000000000'], {}), /--connection-idle-timeout-ms must be at most 2147483647/);
  });
});
