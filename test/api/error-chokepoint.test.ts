/**
 * The one error path: whatever entry point a call comes through, an
 * unexpected error is INTERNAL with a generic message, and its stack is logged
 * once with the request id; a caller's mistake is logged as a refusal, without
 * a stack. Regression: REST decoding errors happened outside the adapter and
 * were not logged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import pino from 'pino';
import { guard, type CallContext } from '../../src/api/adapter';
import { httpStatusForCode, StatusError } from '../../src/api/status';
import { FailedPreconditionError } from '../../src/domain/errors';
import { NodeApiError } from '../../src/gateway/node-api/resolver';
import { loadConfig } from '../../src/config';
import { startBerth, type Berth } from '../../src/main';
import { rest } from '../helpers/rest';

/** A logger whose lines are kept, parsed. */
function capture(): { log: pino.Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

describe('the error chokepoint', () => {
  it('turns an unexpected error into INTERNAL with a generic message and logs its stack once, with the request id', async () => {
    const { log, lines } = capture();
    const ctx: CallContext = { requestId: 'req-42', log: log.child({ requestId: 'req-42' }), signal: new AbortController().signal, headers: {} };
    const err = await guard('/berth.v1.Test/Boom', ctx, async () => {
      throw new TypeError('cannot read properties of undefined (secret detail)');
    }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StatusError);
    assert.equal(err.code, Code.INTERNAL);
    assert.doesNotMatch(err.message, /secret detail/);
    assert.match(err.message, /request id/);
    await new Promise((r) => setImmediate(r));
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1, JSON.stringify(lines));
    assert.equal(errors[0]!.requestId, 'req-42');
    assert.match(errors[0]!.err.stack, /secret detail/);
  });

  it('logs a refusal without a stack, and the same code in the answer', async () => {
    const { log, lines } = capture();
    const ctx: CallContext = { requestId: 'req-7', log: log.child({ requestId: 'req-7' }), signal: new AbortController().signal, headers: {} };
    const err = await guard('/berth.v1.Test/Refuse', ctx, async () => {
      throw new FailedPreconditionError('node nd1 is suspended', 'nodes/nd1');
    }).catch((e: StatusError) => e);
    assert.equal(err.code, Code.FAILED_PRECONDITION);
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.filter((l) => l.level >= 50).length, 0);
    assert.equal(lines.filter((l) => l.msg === 'call refused' && l.requestId === 'req-7').length, 1);
  });

  it('has one gRPC → HTTP table, which the node API uses too', () => {
    for (let code = 0; code <= 16; code++) assert.equal(new NodeApiError(code, 'refused').httpStatus, httpStatusForCode(code), `code ${Code[code]}`);
    assert.equal(httpStatusForCode(Code.FAILED_PRECONDITION), 400);
    assert.equal(httpStatusForCode(Code.UNAVAILABLE), 503);
    assert.equal(httpStatusForCode(99), 500);
  });
});

describe('REST decoding goes through the chokepoint', () => {
  let berth: Berth;
  let dataDir: string;
  const { log, lines } = capture();
  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-chokepoint-'));
    const config = { ...loadConfig([], {}), grpcPort: 0, httpPort: 0, nodeApiPort: 0, dataDir, databaseUrl: path.join(dataDir, 'berth.sqlite'), runtime: 'process' as const, pullImages: false, auth: 'none' as const };
    berth = await startBerth(config, log);
  });
  after(async () => {
    await berth.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs a body that is not JSON as a refusal of the method, once (its access line), with the request id the caller sent', async () => {
    const res = await rest(`http://127.0.0.1:${berth.httpPort}`, 'POST', '/v1/folders', '{"name": ', { 'x-request-id': 'rest-decode-1' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-request-id'), 'rest-decode-1');
    const fields = res.body.details.find((d: any) => d['@type'].endsWith('BadRequest')).fieldViolations.map((v: any) => v.field);
    assert.deepEqual(fields, ['body']);
    await new Promise((r) => setImmediate(r));
    const logged = lines.filter((l) => l.requestId === 'rest-decode-1');
    assert.equal(logged.length, 1, JSON.stringify(logged));
    assert.equal(logged[0]!.msg, 'access');
    assert.equal(logged[0]!.component, 'access');
    assert.equal(logged[0]!.method, '/berth.v1.FolderService/CreateFolder');
    assert.equal(logged[0]!.code, 'INVALID_ARGUMENT');
    assert.equal(logged[0]!.status, 400);
    assert.match(logged[0]!.message, /body/);
  });
});
