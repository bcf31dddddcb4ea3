/**
 * The instance quota of a folder: the sum of its nodes' instance_range.max
 * (suspended nodes left out) stays within `--instance-quota`, whatever order
 * or concurrency creates, grows, suspends and resumes them, on both databases.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { rest } from '../helpers/rest';

const node = (folderId: string, name: string, max: number) => ({
  folderId,
  name,
  // A Docker node of an image that is not there: its row reserves instances whether or not any start.
  spec: { docker: { image: 'berth-quota-absent:latest', endpoint: { type: 'ENDPOINT_TYPE_HTTP', port: 8080 } }, instanceRange: { min: 0, max } },
});

for (const db of DATABASES) {
  describe(`instance quota per folder (${db})`, () => {
    let t: TestBerth | undefined;
    let folderId = '';

    before(async () => {
      t = await startTestBerth(db, { instanceQuota: 3 });
      if (t) folderId = (await rest(t.http, 'POST', '/v1/folders', { name: 'quota' })).body.id;
    });
    after(async () => {
      await t?.close();
    });

    it('refuses a node or a change that would take the folder over its quota, with 429 naming the field', async (c) => {
      if (!t) return c.skip('PostgreSQL is not available');
      const a = await rest(t.http, 'POST', '/v1/nodes', node(folderId, 'a', 2));
      assert.equal(a.status, 200, JSON.stringify(a.body));
      const over = await rest(t.http, 'POST', '/v1/nodes', node(folderId, 'b', 2));
      assert.equal(over.status, 429, JSON.stringify(over.body));
      assert.match(over.body.message, /may run 3 instances.*at most 1 \(node\.spec\.instance_range\.max\)/);
      const b = await rest(t.http, 'POST', '/v1/nodes', node(folderId, 'b', 1));
      assert.equal(b.status, 200, JSON.stringify(b.body));
      const bId = b.body.resourceId as string;
      const aId = a.body.resourceId as string;

      const grow = await rest(t.http, 'PATCH', `/v1/nodes/${bId}?update_mask=spec.instance_range`, { spec: { instanceRange: { min: 0, max: 2 } } });
      assert.equal(grow.status, 429, JSON.stringify(grow.body));
      // A suspended node reserves nothing: b may grow, and then a may not resume.
      assert.equal((await rest(t.http, 'POST', `/v1/nodes/${aId}:suspend`, {})).status, 200);
      const grown = await rest(t.http, 'PATCH', `/v1/nodes/${bId}?update_mask=spec.instance_range`, { spec: { instanceRange: { min: 0, max: 2 } } });
      assert.equal(grown.status, 200, JSON.stringify(grown.body));
      const resume = await rest(t.http, 'POST', `/v1/nodes/${aId}:resume`, {});
      assert.equal(resume.status, 429, JSON.stringify(resume.body));
      // Another folder has its own quota.
      const other = (await rest(t.http, 'POST', '/v1/folders', { name: 'other' })).body.id;
      assert.equal((await rest(t.http, 'POST', '/v1/nodes', node(other, 'c', 3))).status, 200);
    });

    it('lets exactly the quota through when creates race', async (c) => {
      if (!t) return c.skip('PostgreSQL is not available');
      const race = (await rest(t.http, 'POST', '/v1/folders', { name: 'race' })).body.id;
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => rest(t!.http, 'POST', '/v1/nodes', node(race, `n${i}`, 1))));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((s) => s === 200).length, 3, JSON.stringify(statuses));
      // The others are refused by the quota, not by a lost race.
      assert.ok(statuses.every((s) => s === 200 || s === 429), JSON.stringify(answers.filter((a) => a.status !== 200).map((a) => a.body)));
      const listed = await rest(t.http, 'GET', `/v1/nodes?folder_id=${race}`);
      assert.equal(listed.body.nodes.length, 3);
    });
  });
}
