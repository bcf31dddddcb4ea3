/**
 * HAProxy's log lines of fast-path calls (`ACCESS_LOG_FORMAT`) as Berth
 * reads them back: one access line, one metrics event and one noted call per
 * call, the node and instance taken from the server that answered (through
 * an alias too), and nothing for a connection that carried no request.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AccessReader } from '../../src/gateway/haproxy/access-reader';
import type { NodeApiCallEvent } from '../../src/gateway/node-api';

function reader(): { reader: AccessReader; records: any[]; events: NodeApiCallEvent[]; noted: string[]; keys: string[] } {
  const records: any[] = [];
  const events: NodeApiCallEvent[] = [];
  const noted: string[] = [];
  const keys: string[] = [];
  const r = new AccessReader({
    observability: { record: (line: unknown) => records.push(line) } as never,
    onCallEnd: (e) => events.push(e),
    noteCall: (nodeId) => noted.push(nodeId),
    callerOf: (grant) => (grant === 'k:nd1:' ? { principalId: 'pr1', principalName: 'ana', keyId: 'ak1' } : undefined),
    countKeyCall: (keyId) => keys.push(keyId),
    log: pino({ level: 'silent' }),
  });
  return { reader: r, records, events, noted, keys };
}

const line = (fields: Record<string, unknown>): string =>
  JSON.stringify({ target: 'nd1', alias: '', grant: 'k:nd1:', server: 'nd1.in1', status: 200, ms: 3, method: 'GET', path: '/whoami', version: '1.1', requestId: 'r1', bytesIn: 80, bytesOut: 120, retries: 0, termination: '--', ...fields });

describe('reading HAProxy\'s log of fast-path calls', () => {
  it('records a call to a node: access line, metrics, the node\'s idle window, the key\'s use', () => {
    const { reader: r, records, events, noted, keys } = reader();
    r.line(line({}));
    assert.equal(records.length, 1);
    assert.deepEqual(
      [records[0].listener, records[0].nodeId, records[0].instanceId, records[0].status, records[0].principal, records[0].dataPlane],
      ['node-api', 'nd1', 'in1', 200, 'ana', 'haproxy'],
    );
    assert.deepEqual(events, [{ nodeId: 'nd1', aliasName: undefined, instanceId: 'in1', protocol: 'http1', grpc: false, httpStatus: 200, attempts: 1, durationMs: 3 }]);
    assert.deepEqual(noted, ['nd1']);
    assert.deepEqual(keys, ['ak1']);
  });

  it('names the node that answered a call through an alias, and counts a retried call\'s attempts', () => {
    const { reader: r, records, events } = reader();
    r.line(line({ target: 'default/front', alias: 'front', grant: '-:default/front:default', server: 'nd2.in7', retries: 1, version: '2.0' }));
    assert.deepEqual([records[0].nodeId, records[0].aliasName, records[0].instanceId, records[0].protocol], ['nd2', 'front', 'in7', 'http2']);
    assert.equal(events[0]!.attempts, 2);
  });

  it('counts a caller who left before the answer as 499', () => {
    const { reader: r, records } = reader();
    r.line(line({ status: -1, server: 'nd1.in1' }));
    assert.equal(records[0].status, 499);
  });

  it('ignores a connection that carried no whole request, and HAProxy\'s own messages', () => {
    const { reader: r, records, noted } = reader();
    r.line(line({ target: '-', alias: '', grant: '-', server: '<NOSRV>', status: 400, ms: -1, method: '<BADREQ>', path: '-', version: '-', requestId: '-' }));
    r.line('Server n0/nd1.in1 is UP/READY (leaving forced maintenance).');
    r.line('{"target":');
    assert.equal(records.length, 0);
    assert.deepEqual(noted, []);
  });
});
