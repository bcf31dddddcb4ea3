import type { Command } from 'commander';
import { call } from '../../client';
import { Alias, type AliasTarget } from '../../../gen/berth/v1/alias';
import { nodeStateToJSON, type Node } from '../../../gen/berth/v1/node';
import { UsageError } from '../cli-errors';
import { age, enumWord, printResources, table, type Column } from '../output';
import { toProtoJson } from '../proto-json';
import type { Session } from '../session';
import { examples, formatOf, withSession } from './common';

export const aliasJson = (a: Alias) => toProtoJson(Alias, 'berth.v1.Alias', a);

/** `nodeA=90` pairs → targets, nodes looked up by name (or id). */
export async function targetsOf(session: Session, pairs: string[]): Promise<AliasTarget[]> {
  if (pairs.length === 0) throw new UsageError('name at least one target: NODE=WEIGHT');
  const targets: AliasTarget[] = [];
  for (const pair of pairs) {
    const m = /^(.+?)(?:=(\d+))?$/.exec(pair);
    if (!m) throw new UsageError(`a target is NODE=WEIGHT, not ${JSON.stringify(pair)}`);
    const node = await session.findNode(m[1]!);
    targets.push({ nodeId: node.id, weight: m[2] === undefined ? 100 : Number(m[2]) });
  }
  return targets;
}

async function nodesById(session: Session): Promise<Map<string, Node>> {
  return new Map((await session.listNodes()).map((n) => [n.id, n]));
}

function targetText(alias: Alias, nodes: Map<string, Node>): string {
  return alias.targets.map((t) => `${nodes.get(t.nodeId)?.name ?? t.nodeId}=${t.weight}`).join(' ');
}

/** The alias's targets with their weights and their nodes' health: what `alias get` and `alias set` show. */
async function printAlias(session: Session, alias: Alias, format: ReturnType<typeof formatOf>): Promise<void> {
  if (format !== 'table') return printResources(format, [alias], { columns: [], json: aliasJson, name: (a) => a.name, single: true });
  const nodes = await nodesById(session);
  const total = alias.targets.reduce((s, t) => s + t.weight, 0) || 1;
  process.stdout.write(`alias ${alias.name} (${alias.id})\n`);
  process.stdout.write(
    table(
      ['NODE', 'WEIGHT', 'SHARE', 'STATE', 'HEALTHY'],
      alias.targets.map((t) => {
        const node = nodes.get(t.nodeId);
        return [
          node?.name ?? t.nodeId,
          String(t.weight),
          `${Math.round((100 * t.weight) / total)}%`,
          node ? enumWord(nodeStateToJSON(node.status!.state), 'NODE_STATE_') : 'missing',
          node ? `${node.status?.instanceCounts?.healthy ?? 0}/${node.status?.desiredInstances ?? 0}` : '',
        ];
      }),
    ),
  );
}

export function registerAliases(program: Command): void {
  const aliases = program
    .command('aliases')
    .alias('alias')
    .description('aliases: one name in front of weighted nodes')
    .addHelpText('after', examples('berth aliases list', 'berth alias set prod price-v1=90 price-v2=10', 'berth alias get prod'));

  aliases
    .command('list')
    .alias('ls')
    .description("the folder's aliases and their targets")
    .action(
      withSession(async (session, opts) => {
        const nodes = await nodesById(session);
        const columns: Column<Alias>[] = [
          ['NAME', (a) => a.name],
          ['TARGETS', (a) => targetText(a, nodes)],
          ['ID', (a) => a.id],
          ['AGE', (a) => age(a.createTime)],
        ];
        printResources(formatOf(opts), await session.listAliases(), { columns, json: aliasJson, name: (a) => a.name });
      }),
    );

  aliases
    .command('get <alias>')
    .description("an alias's targets: weights and the health of each node")
    .addHelpText('after', examples('berth alias get prod', 'berth alias get prod -o json'))
    .action(withSession(async (session, opts, [ref]) => printAlias(session, await session.findAlias(ref!), formatOf(opts))));

  aliases
    .command('create <alias> <node=weight...>')
    .description('create an alias in front of nodes')
    .addHelpText('after', examples('berth alias create prod price-v1=100'))
    .action(
      withSession(async (session, opts, [name, ...pairs]) => {
        const alias = await call(session.berth.aliases, 'createAlias', {
          alias: Alias.fromPartial({ folderId: await session.folderId(), name: name!, targets: await targetsOf(session, pairs) }),
        });
        await printAlias(session, alias, formatOf(opts));
      }),
    );

  aliases
    .command('set <alias> <node=weight...>')
    .description("replace an alias's targets in one update (atomic: callers see the old split or the new one); creates the alias when missing")
    .addHelpText('after', examples('berth alias set prod price-v1=90 price-v2=10', 'berth alias set prod price-v2=100'))
    .action(
      withSession(async (session, opts, [name, ...pairs]) => {
        const targets = await targetsOf(session, pairs);
        const existing = (await session.listAliases()).find((a) => a.name === name);
        const alias = existing
          ? await call(session.berth.aliases, 'updateAlias', { alias: { ...existing, targets }, updateMask: ['targets'] })
          : await call(session.berth.aliases, 'createAlias', { alias: Alias.fromPartial({ folderId: await session.folderId(), name: name!, targets }) });
        await printAlias(session, alias, formatOf(opts));
      }),
    );

  aliases
    .command('delete <alias...>')
    .description('delete aliases (their nodes stay)')
    .addHelpText('after', examples('berth alias delete prod'))
    .action(
      withSession(async (session, _opts, refs) => {
        for (const ref of refs) {
          const alias = await session.findAlias(ref);
          await call(session.berth.aliases, 'deleteAlias', { aliasId: alias.id, etag: '' });
          process.stdout.write(`alias ${alias.name} deleted\n`);
        }
      }),
    );
}
