// Checks that read other rows hold when the write lands: requests that race each other
// over gRPC, 50 times on each database, never both succeed in a way that breaks them.
//   CreateAlias ↔ DeleteNode: no alias may point at a deleted (or deleting) node.
//   DeleteFolder ↔ CreateNode / CreateCheckpoint / CreateSecret in it: nothing may live in a deleted folder.
//   DeleteCheckpoint ↔ CreateNode from it: no node may be made from a deleted checkpoint.
//   DeleteSecret / AddSecretVersion ↔ CreateNode using it: no node may use a deleted secret or a key it lost.
//   CreateCheckpoint ↔ CreateCheckpoint: the folder's quota holds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CreateAliasRequest } from '../../gen/berth/v1/alias_service';
import type { Folder } from '../../gen/berth/v1/folder';
import { CreateFolderRequest, DeleteFolderRequest } from '../../gen/berth/v1/folder_service';
import { EndpointType, VariableType } from '../../gen/berth/v1/node';
import { CreateNodeRequest, DeleteNodeRequest } from '../../gen/berth/v1/node_service';
import type { Operation } from '../../gen/berth/v1/operation';
import { CreateCheckpointRequest, DeleteCheckpointRequest } from '../../gen/berth/v1/checkpoint_service';
import { WaitOperationRequest } from '../../gen/berth/v1/operation_service';
import type { Secret } from '../../gen/berth/v1/secret';
import { AddSecretVersionRequest, CreateSecretRequest, DeleteSecretRequest } from '../../gen/berth/v1/secret_service';
import { DATABASES, startTestBerth, type TestBerth } from '../helpers/berth';
import { clients, unary } from '../helpers/grpc';

const Code = grpc.status;
const ROUNDS = 50;
/** Each round of the checkpoint race captures a checkpoint first (a Python process): fewer rounds. */
const CAPTURE_ROUNDS = 12;

/** A Docker node of an image that does not exist: no runtime work is needed to race over it. */
function nodeRequest(folderId: string, name: string, min: number) {
  return CreateNodeRequest.fromPartial({
    node: {
      folderId,
      name,
      spec: {
        docker: { image: 'berth-race-absent:latest', endpoint: { type: EndpointType.ENDPOINT_TYPE_HTTP, port: 8080 } },
        instanceRange: { min, max: Math.max(1, min) },
      },
    },
  });
}

type Outcome = { ok: true; value: unknown } | { ok: false; code: number; message: string };

async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await call };
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (typeof e.code !== 'number') throw err;
    return { ok: false, code: e.code, message: e.details };
  }
}

/** Rows read straight from the database, so the check does not rest on the code under test. */
async function rows(t: TestBerth, sql: string): Promise<Record<string, unknown>[]> {
  return (await t.berth.orm.em.fork().getConnection().execute(sql)) as Record<string, unknown>[];
}

function json<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/**
 * Starts `first` and, after a delay that changes from round to round, `second`:
 * the rounds cover both orders and the overlaps in between.
 */
function race<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const delayMs = round % 4;
  const later = <T>(f: () => Promise<T>) => new Promise<T>((resolve, reject) => setTimeout(() => f().then(resolve, reject), delayMs));
  return round % 2 === 0 ? Promise.all([a(), later(b)]) : Promise.all([later(a), b()]);
}

/** Counts of how the races ended, printed so a run shows that both orders happened. */
function tally(results: Record<string, number>, key: string): void {
  results[key] = (results[key] ?? 0) + 1;
}

for (const db of DATABASES) {
  describe(`cross-row checks under races (${db})`, { timeout: 240_000 }, () => {
    let t: TestBerth | undefined;
    let c: ReturnType<typeof clients>;

    before(async () => {
      t = await startTestBerth(db, { checkpointQuota: 3 });
      if (t) c = clients(t.grpc);
    });
    after(async () => {
      c?.close();
      await t?.close();
    });

    it(`CreateAlias racing DeleteNode never leaves an alias on a deleted node (${ROUNDS} rounds)`, async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'alias-race' } }));
      const results: Record<string, number> = {};
      for (let i = 0; i < ROUNDS; i++) {
        // Half the nodes want an instance: their deletion goes through `deleting` first.
        const created = await unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', nodeRequest(folder.id, `n${i}`, i % 2));
        const nodeId = created.resourceId;
        const [alias, deleted] = await race(
          i >> 1,
          () => outcome(unary(c.aliases, 'createAlias', CreateAliasRequest.fromPartial({ alias: { folderId: folder.id, name: `a${i}`, targets: [{ nodeId, weight: 100 }] } }))),
          () => outcome(unary(c.nodes, 'deleteNode', DeleteNodeRequest.fromPartial({ nodeId }))),
        );
        if (alias.ok && deleted.ok) assert.fail(`round ${i}: both CreateAlias and DeleteNode of ${nodeId} succeeded`);
        if (alias.ok) {
          assert.equal((deleted as { code: number }).code, Code.FAILED_PRECONDITION, `round ${i}: ${JSON.stringify(deleted)}`);
          assert.match((deleted as { message: string }).message, /is a target of alias/);
          tally(results, 'alias first');
        } else if (deleted.ok) {
          assert.ok([Code.NOT_FOUND, Code.INVALID_ARGUMENT].includes(alias.code), `round ${i}: CreateAlias failed with ${JSON.stringify(alias)}`);
          tally(results, 'delete first');
        } else {
          assert.fail(`round ${i}: both failed: ${JSON.stringify({ alias, deleted })}`);
        }
      }
      ctx.diagnostic(`outcomes: ${JSON.stringify(results)}`);
      const aliases = await rows(t, `select id, targets from aliases where folder_id = '${folder.id}'`);
      const nodes = new Map((await rows(t, `select id, deleting from nodes where folder_id = '${folder.id}'`)).map((r) => [r.id as string, Boolean(r.deleting)]));
      assert.equal(aliases.length, results['alias first'] ?? 0);
      for (const a of aliases) {
        for (const target of json<{ nodeId: string }[]>(a.targets)) {
          assert.ok(nodes.has(target.nodeId), `alias ${a.id} targets the deleted node ${target.nodeId}`);
          assert.equal(nodes.get(target.nodeId), false, `alias ${a.id} targets the node ${target.nodeId}, which is being deleted`);
        }
      }
    });

    it(`DeleteFolder racing CreateNode, CreateCheckpoint or CreateSecret in it never leaves them in a deleted folder (${ROUNDS} rounds)`, async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const results: Record<string, number> = {};
      for (let i = 0; i < ROUNDS; i++) {
        const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: `doomed-${i}` } }));
        // Nodes on most rounds, checkpoints (whose creation also checks the folder's quota) and secrets on every fourth.
        const what = i % 4 === 3 ? 'checkpoint' : i % 4 === 1 ? 'secret' : 'node';
        const [created, deleted] = await race(
          i >> 2,
          () =>
            outcome(
              what === 'node'
                ? unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', nodeRequest(folder.id, `n${i}`, 0))
                : what === 'secret'
                  ? unary(c.secrets, 'createSecret', CreateSecretRequest.fromPartial({ folderId: folder.id, name: `s${i}`, entries: [{ key: 'token', value: 'v' }] }))
                  : unary(c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial({ folderId: folder.id, name: `c${i}`, cells: { cells: ['x = 1'] } })),
            ),
          () => outcome(unary(c.folders, 'deleteFolder', DeleteFolderRequest.fromPartial({ folderId: folder.id }))),
        );
        if (created.ok && deleted.ok) assert.fail(`round ${i}: both Create of a ${what} and DeleteFolder of ${folder.id} succeeded`);
        if (created.ok) {
          assert.equal((deleted as { code: number }).code, Code.FAILED_PRECONDITION, `round ${i}: ${JSON.stringify(deleted)}`);
          tally(results, `${what} first`);
        } else if (deleted.ok) {
          assert.equal(created.code, Code.NOT_FOUND, `round ${i}: Create of a ${what} failed with ${JSON.stringify(created)}`);
          tally(results, `delete first (${what})`);
        } else {
          assert.fail(`round ${i}: both failed: ${JSON.stringify({ created, deleted })}`);
        }
      }
      ctx.diagnostic(`outcomes: ${JSON.stringify(results)}`);
      const folders = new Set((await rows(t, 'select id from folders')).map((r) => r.id as string));
      for (const table of ['nodes', 'aliases', 'checkpoints', 'secrets']) {
        for (const r of await rows(t, `select id, folder_id from ${table}`)) {
          assert.ok(folders.has(r.folder_id as string), `${table} row ${r.id} is in the deleted folder ${r.folder_id}`);
        }
      }
    });

    it(`DeleteCheckpoint racing CreateNode from it never leaves a node on a deleted checkpoint (${CAPTURE_ROUNDS} rounds)`, async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const results: Record<string, number> = {};
      for (let i = 0; i < CAPTURE_ROUNDS; i++) {
        // A folder per round: the rounds where the node wins keep their checkpoint pinned.
        const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: `cp-race-${i}` } }));
        const capture = await unary<CreateCheckpointRequest, Operation>(
          c.checkpoints,
          'createCheckpoint',
          CreateCheckpointRequest.fromPartial({ folderId: folder.id, name: `c${i}`, cells: { cells: ['x = 1.0', 'y = x * 2'] }, servedCellIndex: 1 }),
        );
        const captured = await unary<WaitOperationRequest, Operation>(c.operations, 'waitOperation', WaitOperationRequest.fromPartial({ operationId: capture.id, timeout: { seconds: 30 } }));
        assert.ok(captured.done && !captured.error, `the capture of round ${i} failed: ${JSON.stringify(captured.error)}`);
        const checkpointId = capture.resourceId;
        const [node, deleted] = await race(
          i,
          () =>
            outcome(
              unary<CreateNodeRequest, Operation>(
                c.nodes,
                'createNode',
                CreateNodeRequest.fromPartial({
                  node: {
                    folderId: folder.id,
                    name: `n${i}`,
                    spec: {
                      checkpoint: { checkpointId, inputVariables: [{ name: 'x', type: VariableType.VARIABLE_TYPE_FLOAT }], outputVariables: [{ name: 'y', type: VariableType.VARIABLE_TYPE_FLOAT }] },
                      instanceRange: { min: 0, max: 1 },
                    },
                  },
                }),
              ),
            ),
          () => outcome(unary(c.checkpoints, 'deleteCheckpoint', DeleteCheckpointRequest.fromPartial({ checkpointId }))),
        );
        if (node.ok && deleted.ok) assert.fail(`round ${i}: both CreateNode from ${checkpointId} and DeleteCheckpoint succeeded`);
        if (node.ok) {
          assert.equal((deleted as { code: number }).code, Code.FAILED_PRECONDITION, `round ${i}: ${JSON.stringify(deleted)}`);
          tally(results, 'node first');
        } else if (deleted.ok) {
          assert.equal(node.code, Code.NOT_FOUND, `round ${i}: CreateNode failed with ${JSON.stringify(node)}`);
          tally(results, 'delete first');
        } else {
          assert.fail(`round ${i}: both failed: ${JSON.stringify({ node, deleted })}`);
        }
      }
      ctx.diagnostic(`outcomes: ${JSON.stringify(results)}`);
      const checkpoints = new Set((await rows(t, 'select id from checkpoints')).map((r) => r.id as string));
      for (const r of await rows(t, "select id, spec from nodes where kind = 'checkpoint'")) {
        const id = json<{ source: { checkpointId: string } }>(r.spec).source.checkpointId;
        assert.ok(checkpoints.has(id), `node ${r.id} is made from the deleted checkpoint ${id}`);
      }
    });

    it(`DeleteSecret or AddSecretVersion racing CreateNode never leaves a node on a deleted secret or a lost key (${ROUNDS} rounds)`, async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'secret-race' } }));
      const results: Record<string, number> = {};
      for (let i = 0; i < ROUNDS; i++) {
        const secret = await unary<CreateSecretRequest, Secret>(c.secrets, 'createSecret', CreateSecretRequest.fromPartial({ folderId: folder.id, name: `s${i}`, entries: [{ key: 'token', value: 'v1' }] }));
        // Even rounds delete the secret; odd rounds replace its entries with ones that lack the key the node reads.
        const what = i % 2 === 0 ? 'delete' : 'new version';
        const request = nodeRequest(folder.id, `n${i}`, 0);
        request.node!.spec!.docker!.envFromSecrets = [{ envName: 'TOKEN', secretId: secret.id, key: 'token' }];
        const [node, change] = await race(
          i >> 1,
          () => outcome(unary<CreateNodeRequest, Operation>(c.nodes, 'createNode', request)),
          () =>
            outcome(
              what === 'delete'
                ? unary(c.secrets, 'deleteSecret', DeleteSecretRequest.fromPartial({ secretId: secret.id }))
                : unary(c.secrets, 'addSecretVersion', AddSecretVersionRequest.fromPartial({ secretId: secret.id, entries: [{ key: 'other', value: 'v2' }] })),
            ),
        );
        if (node.ok && change.ok) assert.fail(`round ${i}: both CreateNode using ${secret.id} and its ${what} succeeded`);
        if (node.ok) {
          assert.equal((change as { code: number }).code, Code.FAILED_PRECONDITION, `round ${i}: ${JSON.stringify(change)}`);
          assert.match((change as { message: string }).message, new RegExp(`n${i}`));
          tally(results, `node first (${what})`);
        } else if (change.ok) {
          assert.equal(node.code, what === 'delete' ? Code.NOT_FOUND : Code.INVALID_ARGUMENT, `round ${i}: CreateNode failed with ${JSON.stringify(node)}`);
          tally(results, `${what} first`);
        } else {
          assert.fail(`round ${i}: both failed: ${JSON.stringify({ node, change })}`);
        }
      }
      ctx.diagnostic(`outcomes: ${JSON.stringify(results)}`);
      const secrets = new Map((await rows(t, `select id, entries from secrets where folder_id = '${folder.id}'`)).map((r) => [r.id as string, json<{ key: string }[]>(r.entries).map((e) => e.key)]));
      for (const r of await rows(t, `select id, spec from nodes where folder_id = '${folder.id}'`)) {
        for (const ref of json<{ source: { envFromSecrets: { secretId: string; key: string }[] } }>(r.spec).source.envFromSecrets) {
          assert.ok(secrets.has(ref.secretId), `node ${r.id} uses the deleted secret ${ref.secretId}`);
          assert.ok(secrets.get(ref.secretId)!.includes(ref.key), `node ${r.id} reads ${ref.key}, which secret ${ref.secretId} no longer has`);
        }
      }
    });

    it('concurrent CreateCheckpoint calls never go over the folder quota', async (ctx) => {
      if (!t) return ctx.skip('PostgreSQL is not available');
      const quota = t.config.checkpointQuota;
      const folder = await unary<CreateFolderRequest, Folder>(c.folders, 'createFolder', CreateFolderRequest.fromPartial({ folder: { name: 'quota-race' } }));
      const results = await Promise.all(
        Array.from({ length: quota + 5 }, (_, i) =>
          outcome(unary(c.checkpoints, 'createCheckpoint', CreateCheckpointRequest.fromPartial({ folderId: folder.id, name: `c${i}`, cells: { cells: ['x = 1'] } }))),
        ),
      );
      const accepted = results.filter((r) => r.ok).length;
      for (const r of results) if (!r.ok) assert.equal(r.code, Code.RESOURCE_EXHAUSTED, JSON.stringify(r));
      assert.equal(accepted, quota, `${accepted} checkpoints accepted for a quota of ${quota}`);
      const stored = await rows(t, `select id from checkpoints where folder_id = '${folder.id}'`);
      assert.equal(stored.length, quota);
    });
  });
}
