import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  contentLength,
  isGrpcContentType,
  readRoute,
  toHttp1RequestHeaders,
  toHttp1ResponseHeaders,
  toHttp2RequestHeaders,
  toHttp2ResponseHeaders,
} from '../../src/gateway/node-api/proxy-headers';

describe('proxy headers', () => {
  it('reads the route, first value of a repeated header winning', () => {
    assert.deepEqual(readRoute({ 'x-node-id': 'n1', 'x-folder-id': 'f', authorization: 'Bearer x' }), {
      nodeId: 'n1',
      aliasName: undefined,
      folderId: 'f',
      authorization: 'Bearer x',
    });
    assert.equal(readRoute({ 'x-node-alias': ['a1', 'a2'] } as never).aliasName, 'a1');
    assert.equal(readRoute({ 'x-node-id': '' }).nodeId, undefined);
  });

  it('drops hop-by-hop, connection-listed and routing headers towards an HTTP/1.1 instance', () => {
    const out = toHttp1RequestHeaders({
      ':method': 'GET',
      ':authority': 'example:1',
      connection: 'keep-alive, x-hop',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'secret',
      'transfer-encoding': 'chunked',
      te: 'trailers',
      expect: '100-continue',
      upgrade: 'h2c',
      'x-hop': 'gone',
      'x-node-id': 'n',
      'x-node-alias': 'a',
      'x-folder-id': 'f',
      authorization: 'Bearer for-berth',
      'x-end-to-end': 'kept',
    });
    // The caller's API key is Berth's: the instance never sees it.
    assert.deepEqual(out, { host: 'example:1', 'x-end-to-end': 'kept' });
  });

  it('builds pseudo-headers for an h2c instance from an HTTP/1.1 request and keeps te: trailers', () => {
    const out = toHttp2RequestHeaders(
      { host: 'h:1', 'content-type': 'application/grpc', connection: 'close', te: 'trailers', 'x-node-id': 'n' },
      'POST',
      '/svc/M',
      true,
    );
    assert.deepEqual(out, {
      'content-type': 'application/grpc',
      ':method': 'POST',
      ':path': '/svc/M',
      ':scheme': 'http',
      ':authority': 'h:1',
      te: 'trailers',
    });
  });

  it('passes an HTTP/2 request head through, dropping te other than trailers', () => {
    const out = toHttp2RequestHeaders(
      { ':method': 'GET', ':path': '/p', ':scheme': 'http', ':authority': 'a', te: 'gzip', 'x-a': '1' },
      'GET',
      '/p',
      false,
    );
    assert.deepEqual(out, { ':method': 'GET', ':path': '/p', ':scheme': 'http', ':authority': 'a', 'x-a': '1' });
  });

  it('shapes response heads for each caller protocol', () => {
    const upstream = { ':status': 200, connection: 'keep-alive', 'keep-alive': 'timeout=5', 'set-cookie': ['a', 'b'], 'x-r': '1' };
    assert.deepEqual(toHttp1ResponseHeaders(upstream as never), { 'set-cookie': ['a', 'b'], 'x-r': '1' });
    assert.deepEqual(toHttp2ResponseHeaders(upstream as never, 201), { ':status': 201, 'set-cookie': ['a', 'b'], 'x-r': '1' });
  });

  it('recognises gRPC content types and content lengths', () => {
    assert.equal(isGrpcContentType('application/grpc'), true);
    assert.equal(isGrpcContentType('application/grpc+proto'), true);
    assert.equal(isGrpcContentType('application/json'), false);
    assert.equal(isGrpcContentType(undefined), false);
    assert.equal(contentLength({ 'content-length': '42' }), 42);
    assert.equal(contentLength({}), -1);
    assert.equal(contentLength({ 'content-length': 'x' }), -1);
  });
});
