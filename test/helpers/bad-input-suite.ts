import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { status as Code } from '@grpc/grpc-js';
import { DATABASES, startTestBerth, type TestBerth } from './berth';
import { clients } from './grpc';
import { rest } from './rest';
import { assertRefusal, dumpTables, type Refusal } from './refusals';

/** One bad request and how it must be refused. */
export interface BadCase {
  label: string;
  run: () => Promise<Refusal>;
  code: Code;
  /** The field the BadRequest (or NOT_FOUND) detail must name. */
  field?: string | RegExp;
  /** The HTTP status a REST caller must get. */
  http?: number;
}

/** What each suite's cases are made against: two folders, a suspended Docker node, an alias to it and a secret (entry `token`). */
export interface Fixture {
  t: TestBerth;
  c: ReturnType<typeof clients>;
  http: string;
  grpc: string;
  folder: { id: string; etag: string };
  other: { id: string };
  node: { id: string; etag: string };
  alias: { id: string; name: string };
  secret: { id: string; etag: string };
  /** A page token ListFolders made, valid only for ListFolders. */
  folderPageToken: string;
}

async function ok(res: Promise<{ status: number; body: any }>): Promise<any> {
  const r = await res;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function fixture(t: TestBerth): Promise<Fixture> {
  const http = t.http;
  const folder = await ok(rest(http, 'POST', '/v1/folders', { name: 'bad-input', labels: { env: 'dev' }, description: 'd' }));
  const other = await ok(rest(http, 'POST', '/v1/folders', { name: 'bad-input-other' }));
  const op = await ok(
    rest(http, 'POST', '/v1/nodes', { folderId: folder.id, name: 'web', spec: { docker: { image: 'berth-test-http:latest', endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 } } } }),
  );
  // Suspended, the node runs nothing: the supervisor has nothing to change while the bad calls run.
  // The supervisor writes the new node too: ABORTED (409) asks to retry, as a client would.
  let suspend: any;
  for (let i = 0; i < 20 && !suspend; i++) {
    const res = await rest(http, 'POST', `/v1/nodes/${op.resourceId}:suspend`, {});
    if (res.status === 409) await new Promise((r) => setTimeout(r, 100));
    else suspend = await ok(Promise.resolve(res));
  }
  await ok(rest(http, 'POST', `/v1/operations/${suspend.id}:wait`, { timeout: '20s' }));
  const node = await ok(rest(http, 'GET', `/v1/nodes/${op.resourceId}`));
  const alias = await ok(rest(http, 'POST', '/v1/aliases', { folderId: folder.id, name: 'prod', targets: [{ nodeId: node.id, weight: 100 }] }));
  const secret = await ok(rest(http, 'POST', '/v1/secrets', { folderId: folder.id, name: 'api', entries: [{ key: 'token', value: 'fixture-token' }] }));
  const page = await ok(rest(http, 'GET', '/v1/folders?page_size=1'));
  assert.ok(page.nextPageToken, 'ListFolders with page_size=1 gives a next page token');
  return { t, c: clients(t.grpc), http, grpc: t.grpc, folder, other, node, alias, secret, folderPageToken: page.nextPageToken };
}

/**
 * Runs `cases` against a Berth on each database: every case must be refused
 * with its code and field, never with a 5xx or INTERNAL, and a dump of every
 * table must be the same after each case as before it. Failures are collected
 * and reported together, so one run shows every case that broke.
 */
export function badInputSuite(title: string, build: (fx: Fixture) => BadCase[], minCases: number): void {
  for (const db of DATABASES) {
    describe(`${title} on ${db}`, () => {
      let t: TestBerth | undefined;
      let fx: Fixture | undefined;
      before(async () => {
        // A long resync: nothing but the calls under test writes while they run.
        t = await startTestBerth(db, { resyncMs: 3_600_000 });
        if (!t) return;
        fx = await fixture(t);
        // With the supervisor stopped (after its passes in flight), only the calls under test could write anything.
        await t.berth.supervisor.stop();
      });
      after(async () => {
        fx?.c.close();
        await t?.close();
      });

      it(`refuses at least ${minCases} bad requests over gRPC and REST, naming the field, storing nothing`, async (ctx) => {
        if (!t || !fx) return ctx.skip('PostgreSQL is not available');
        const cases = build(fx);
        assert.ok(cases.length >= minCases, `${cases.length} cases; expected at least ${minCases}`);
        const failures: string[] = [];
        let previous = await dumpTables(t.berth.orm, t.config.databaseUrl);
        for (const c of cases) {
          try {
            const r = await c.run();
            assertRefusal(r, c.code, c.field, c.label);
            if (c.http !== undefined && r.http !== 200) assert.equal(r.http, c.http, `${c.label}: HTTP ${r.http}, expected ${c.http} (${r.message})`);
          } catch (err) {
            failures.push(`${c.label}: ${(err as Error).message}`);
          }
          const now = await dumpTables(t.berth.orm, t.config.databaseUrl);
          const changed = Object.keys({ ...now, ...previous }).filter((table) => !isDeepStrictEqual(now[table], previous[table]));
          if (changed.length > 0) {
            const table = changed[0]!;
            const added = (now[table] ?? []).filter((row) => !(previous[table] ?? []).includes(row));
            failures.push(`${c.label}: changed what is stored in ${changed.join(', ')}: ${String(added[0]).slice(0, 400)}`);
            previous = now;
          }
        }
        ctx.diagnostic(`${cases.length} bad requests refused on ${db}`);
        assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed:\n${failures.join('\n')}`);
      });
    });
  }
}
