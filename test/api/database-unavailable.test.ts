/**
 * A database that cannot be reached is UNAVAILABLE / 503, which clients
 * retry, not INTERNAL / 500. Regression: REST `GET /v1/nodes` answered 500
 * while PostgreSQL restarted. The shared PostgreSQL is never stopped: Berth
 * reaches it through a loopback TCP proxy that the test cuts and restores.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { status as Code, type ServiceError } from '@grpc/grpc-js';
import sqlite3 from 'sqlite3';
import { CreateFolderRequest } from '../../gen/berth/v1/folder_service';
import { ListNodesRequest } from '../../gen/berth/v1/node_service';
import { startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, unary } from '../helpers/grpc';
import { freshDatabase, postgresAvailable } from '../helpers/postgres';
import { rest } from '../helpers/rest';

/** A TCP proxy on loopback to PostgreSQL that can be cut (sockets destroyed, no longer listening) and restored. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  get isOpen(): boolean {
    return this.server !== undefined;
  }

  constructor(private readonly upstreamPort: number) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Every connection dies and new ones are refused, as when the database restarts. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

async function grpcCode(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return Code.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

describe('PostgreSQL unreachable: 503 / UNAVAILABLE, and recovery', () => {
  let t: TestBerth | undefined;
  let proxy: CuttableProxy | undefined;
  let drop: (() => Promise<void>) | undefined;
  before(async () => {
    if (!(await postgresAvailable())) return;
    const db = await freshDatabase();
    drop = db.drop;
    const url = new URL(db.url);
    proxy = new CuttableProxy(Number(url.port || 5432));
    await proxy.open();
    url.port = String(proxy.port);
    t = await startTestBerth('sqlite', { databaseUrl: url.toString() });
  });
  after(async () => {
    if (proxy && !proxy.isOpen) await proxy.open();
    await t?.close();
    await proxy?.cut();
    await drop?.();
  });

  it('answers GET /v1/nodes with 503 and gRPC ListNodes with UNAVAILABLE while the database is cut off, then recovers', async (ctx) => {
    if (!t || !proxy) return ctx.skip('PostgreSQL is not available');
    const c = clients(t.grpc);
    try {
      assert.equal((await rest(t.http, 'GET', '/v1/nodes?folder_id=default')).status, 200);
      await proxy.cut();
      for (const path of ['/v1/nodes?folder_id=default', '/v1/folders', '/v1/folders/default']) {
        const res = await rest(t.http, 'GET', path);
        assert.equal(res.status, 503, `${path} → ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, Code.UNAVAILABLE);
        assert.match(res.body.message, /database is unavailable/);
      }
      const write = await rest(t.http, 'POST', '/v1/folders', { name: 'during-outage' });
      assert.equal(write.status, 503, JSON.stringify(write.body));
      assert.equal(await grpcCode(unary(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: 'default' }))), Code.UNAVAILABLE);
      assert.equal(await grpcCode(unary(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'during-outage' } }))), Code.UNAVAILABLE);
      // The node API looks up a node it has no route for: the same answer.
      const viaNodeApi = await fetch(`http://127.0.0.1:${t.berth.nodeApiPort}/`, { headers: { 'x-node-id': 'nd1unknown' } });
      assert.equal(viaNodeApi.status, 503, await viaNodeApi.text());

      await proxy.open();
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = (await rest(t.http, 'GET', '/v1/nodes?folder_id=default')).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(status, 200, 'GET /v1/nodes did not recover within 20 s of the database coming back');
      assert.equal(await grpcCode(unary(c.nodes, 'listNodes', ListNodesRequest.fromPartial({ folderId: 'default' }))), Code.OK);
      const folders = await rest(t.http, 'GET', '/v1/folders');
      assert.ok(!folders.body.folders.some((f: { name: string }) => f.name === 'during-outage'), 'a write refused as UNAVAILABLE was stored');
    } finally {
      c.close();
    }
  });
});

describe('SQLite busy: 503 / UNAVAILABLE while another process holds the write lock', () => {
  let t: TestBerth | undefined;
  before(async () => {
    t = await startTestBerth('sqlite');
  });
  after(async () => {
    await t?.close();
  });

  it('refuses a write with 503 and UNAVAILABLE after the busy timeout, and takes it once the lock is gone', async () => {
    const other = new sqlite3.Database(t!.config.databaseUrl);
    const run = (sql: string) => new Promise<void>((resolve, reject) => other.run(sql, (err) => (err ? reject(err) : resolve())));
    const c = clients(t!.grpc);
    try {
      await run('pragma busy_timeout = 0');
      await run('begin exclusive');
      const [viaRest, viaGrpc] = await Promise.all([
        rest(t!.http, 'POST', '/v1/folders', { name: 'while-locked' }),
        grpcCode(unary(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'while-locked-too' } }))),
      ]);
      assert.equal(viaRest.status, 503, JSON.stringify(viaRest.body));
      assert.equal(viaRest.body.code, Code.UNAVAILABLE);
      assert.equal(viaGrpc, Code.UNAVAILABLE);
      await run('rollback');
      const later = await rest(t!.http, 'POST', '/v1/folders', { name: 'while-locked' });
      assert.equal(later.status, 200, JSON.stringify(later.body));
    } finally {
      c.close();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
