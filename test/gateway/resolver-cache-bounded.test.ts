/**
 * The node-API resolver caches, for a second, whether a node or alias a
 * caller named exists. Its keys are what callers send (any x-node-id,
 * x-folder-id or alias name), and answers were kept past their second for
 * good: a caller naming a new unknown node on every call grew Berth's memory
 * with every call. Expired answers must be dropped.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Aliases } from '../../src/control/aliases';
import type { ControlContext } from '../../src/control/context';
import { Folders } from '../../src/control/folders';
import { Nodes } from '../../src/control/nodes';
import { GrpcCode, NodeApiError } from '../../src/gateway/node-api';
import { RoutingTableResolver } from '../../src/gateway/node-api-resolver';
import { RoutingTable } from '../../src/gateway/routing-table';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';

for (const kind of DATABASES) {
  describe(`node-API resolver cache (${kind})`, () => {
    let t: TestBerth | undefined;
    let ctx: ControlContext;

    before(async () => {
      t = await startTestBerth(kind);
      if (t) ctx = { orm: t.berth.orm, now: () => new Date() };
    });

    after(async () => {
      await t?.close();
    });

    /** Entries held by the resolver's caches. */
    const cached = (r: RoutingTableResolver): number => r['nodeCache'].size + r['aliasCache'].size;

    it('keeps no answer past its time, whatever names callers send', async (c) => {
      if (!t) return c.skip('PostgreSQL is not available');
      const folders = new Folders(ctx);
      // An answer lives 0 ms here: every one is expired by the next lookup.
      const resolver = new RoutingTableResolver(new RoutingTable(), new Nodes(ctx, folders), new Aliases(ctx, folders), () => undefined, undefined, 0);
      for (let i = 0; i < 200; i++) {
        const nodeId = `nd${String(i).padStart(18, '0')}`;
        await assert.rejects(Promise.resolve().then(() => resolver.resolve({ nodeId, folderId: i % 2 === 0 ? 'default' : undefined })), (err: unknown) => {
          assert.ok(err instanceof NodeApiError);
          assert.equal(err.code, GrpcCode.NOT_FOUND);
          return true;
        });
        await assert.rejects(Promise.resolve().then(() => resolver.resolve({ aliasName: `a${i}`, folderId: 'default' })));
      }
      assert.ok(cached(resolver) <= 2, `${cached(resolver)} answers kept after 400 lookups of distinct names`);
    });
  });
}
