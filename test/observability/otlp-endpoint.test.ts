import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import { tracesUrl } from '../../src/observability/tracing';

describe('--otlp-endpoint', () => {
  it('is off unless given', () => {
    assert.equal(loadConfig([], {}).otlpEndpoint, '');
  });

  it('takes a collector base URL or its traces URL, from the flag or BERTH_OTLP_ENDPOINT', () => {
    assert.equal(loadConfig(['--otlp-endpoint', 'http://127.0.0.1:4318'], {}).otlpEndpoint, 'http://127.0.0.1:4318');
    assert.equal(loadConfig([], { BERTH_OTLP_ENDPOINT: 'https://collector.example/otlp' }).otlpEndpoint, 'https://collector.example/otlp');
    assert.equal(tracesUrl('http://127.0.0.1:4318'), 'http://127.0.0.1:4318/v1/traces');
    assert.equal(tracesUrl('http://127.0.0.1:4318/'), 'http://127.0.0.1:4318/v1/traces');
    assert.equal(tracesUrl('https://collector.example/otlp'), 'https://collector.example/otlp/v1/traces');
    assert.equal(tracesUrl('http://127.0.0.1:4318/v1/traces'), 'http://127.0.0.1:4318/v1/traces');
  });

  it('refuses what is not an http(s) URL, naming the flag', () => {
    for (const value of ['127.0.0.1:4318', 'grpc://127.0.0.1:4317', 'not a url'])
      assert.throws(() => loadConfig(['--otlp-endpoint', value], {}), /--otlp-endpoint must be an http:\/\/ or https:\/\/ URL/, value);
  });
});
