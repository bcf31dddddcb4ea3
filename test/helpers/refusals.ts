import assert from 'node:assert/strict';
import { fromJson, toBinary, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { Client, credentials, Metadata, status as Code, type ServiceError } from '@grpc/grpc-js';
import type { MikroORM } from '@mikro-orm/core';
import { descriptors } from '../../src/api/descriptors';
import { dialectOf } from '../../src/store/orm';
import { grpcViolations, unary } from './grpc';
import { restViolations } from './rest';

/** A refused call, the same shape whichever transport made it. */
export interface Refusal {
  /** The HTTP status (REST) or 200 (gRPC). */
  http: number;
  code: number;
  message: string;
  fields: string[];
}

/** A REST call whose body may be raw bytes (invalid UTF-8) or a string (malformed JSON). */
export async function restCall(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: payload });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text, and the caller's assertion says so
  }
  return { status: res.status, body: parsed };
}

/** Expects a REST call to be refused with a google.rpc.Status body. */
export async function viaRest(base: string, method: string, path: string, body?: unknown): Promise<Refusal> {
  const res = await restCall(base, method, path, body);
  assert.ok(res.status >= 400, `${method} ${path.slice(0, 120)} was accepted: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  assert.equal(typeof res.body?.code, 'number', `${method} ${path.slice(0, 120)} → ${res.status} without a status body: ${String(res.body).slice(0, 300)}`);
  return { http: res.status, code: res.body.code, message: res.body.message, fields: restViolations(res.body) };
}

/** Expects a call of a generated gRPC client to fail. */
export async function viaGrpc(client: object, method: string, request: unknown): Promise<Refusal> {
  try {
    const res = await unary(client, method, request);
    assert.fail(`${method} was accepted: ${JSON.stringify(res).slice(0, 300)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    const e = err as ServiceError;
    return { http: 200, code: e.code, message: e.details, fields: grpcViolations(e) };
  }
}

/** The request message type of a control-plane method (`/berth.v1.NodeService/CreateNode`). */
export function inputType(path: string): DescMessage {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path)!;
  return descriptors().registry.getService(service!)!.methods.find((m) => m.name === method)!.input;
}

/** A request in protobuf binary form from its proto3 JSON: int64 values stay exact (bigint). */
export function binaryOf(path: string, json: JsonValue): Buffer {
  const desc = inputType(path);
  return Buffer.from(toBinary(desc, fromJson(desc, json, { registry: descriptors().registry })));
}

/** Replaces an ASCII marker in encoded bytes with bytes of the same length (e.g. invalid UTF-8). */
export function patchBytes(bytes: Buffer, marker: string, replacement: number[]): Buffer {
  const at = bytes.indexOf(Buffer.from(marker));
  assert.ok(at >= 0, `marker ${marker} not in the encoded request`);
  assert.equal(replacement.length, marker.length);
  const out = Buffer.from(bytes);
  Buffer.from(replacement).copy(out, at);
  return out;
}

/** Sends raw bytes as the request of a gRPC method: what a broken or hostile client may send. */
export function viaRawGrpc(address: string, path: string, bytes: Buffer): Promise<Refusal> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<Refusal>((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      (err: ServiceError | null) => {
        client.close();
        if (!err) reject(new assert.AssertionError({ message: `${path} accepted ${bytes.length} raw bytes` }));
        else resolve({ http: 200, code: err.code, message: err.details, fields: grpcViolations(err) });
      },
    );
  });
}

/** Asserts that a refusal is a caller's mistake with the expected code, naming the field. */
export function assertRefusal(r: Refusal, code: Code, field: string | RegExp | undefined, label: string): void {
  assert.ok(r.http < 500, `${label}: HTTP ${r.http} (${Code[r.code]}: ${r.message})`);
  assert.ok(r.code !== Code.INTERNAL && r.code !== Code.UNKNOWN, `${label}: ${Code[r.code]}: ${r.message}`);
  assert.equal(r.code, code, `${label}: expected ${Code[code]}, got ${Code[r.code]}: ${r.message}`);
  assert.ok(r.message.length > 0, `${label}: the message is empty`);
  if (field === undefined) return;
  const hit = r.fields.find((f) => (typeof field === 'string' ? f === field : field.test(f)));
  assert.ok(hit, `${label}: no violation of ${field} in ${JSON.stringify(r.fields)} (${r.message.slice(0, 300)})`);
}

/**
 * Every table of the database, every row, in a stable order: what "nothing
 * stored changed" is checked against. The audit trail is left out: it records
 * each refused write, as it should.
 */
export async function dumpTables(orm: MikroORM, databaseUrl: string): Promise<Record<string, unknown[]>> {
  const conn = orm.em.getConnection() as unknown as { execute(sql: string): Promise<Array<Record<string, unknown>>> };
  const tables =
    dialectOf(databaseUrl) === 'postgresql'
      ? (await conn.execute(`select tablename as name from pg_tables where schemaname = current_schema() order by 1`)).map((r) => String(r.name))
      : (await conn.execute(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by 1`)).map((r) => String(r.name));
  const out: Record<string, unknown[]> = {};
  for (const table of tables.filter((t) => t !== 'audit_records')) {
    const rows = await conn.execute(`select * from "${table}"`);
    out[table] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort();
  }
  return out;
}
