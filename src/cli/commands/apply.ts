import type { Command } from 'commander';
import { apply, type ApplyResult } from '../apply/apply';
import { formatChange } from '../apply/diff';
import { readManifests } from '../apply/manifest';
import { UsageError } from '../cli-errors';
import { printJson, printYaml } from '../output';
import { collect, examples, formatOf, withSession } from './common';

const PAST: Record<ApplyResult['action'], string> = { create: 'created', update: 'updated', unchanged: 'unchanged' };
const FUTURE: Record<ApplyResult['action'], string> = { create: 'would be created', update: 'would be updated', unchanged: 'unchanged' };

function summary(results: ApplyResult[], dryRun: boolean): string {
  const count = (a: ApplyResult['action']) => results.filter((r) => r.action === a).length;
  if (count('create') + count('update') === 0) return `nothing to change: ${results.length} resource${results.length === 1 ? '' : 's'} as the manifests say\n`;
  const verbs = dryRun ? FUTURE : PAST;
  return `${dryRun ? 'dry run: ' : ''}${count('create')} ${verbs.create}, ${count('update')} ${verbs.update}, ${count('unchanged')} unchanged\n`;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description(
      'create or update what manifests describe (Secret, Checkpoint, Node, Alias, matched by name), ' +
        'then wait until nodes are healthy; applying the same manifests again changes nothing',
    )
    .requiredOption('-f, --filename <file|dir|->', 'a YAML or JSON file (several documents), a directory of them, or - for stdin (repeatable)', collect, [])
    .option('--dry-run', 'show what would change, field by field, and change nothing')
    .option('--no-wait', 'do not wait for nodes to become healthy (captures are still waited for: nodes need them)')
    .addHelpText(
      'after',
      `${examples('berth apply -f berth.yaml', 'berth apply -f deploy/ --dry-run', 'cat berth.yaml | berth apply -f -')}
A manifest, documents separated by ---:

  kind: Checkpoint
  name: price
  notebook: price.ipynb        # relative to the manifest; uploaded
  cell: 2                      # the served code cell (default: the last)
  ---
  kind: Node
  name: price-model
  spec:                        # the REST body's spec, names instead of ids
    checkpoint:
      checkpoint: price
      inputVariables: [{name: x, type: float}]
      outputVariables: [{name: y, type: float}]
    instanceRange: {min: 1, max: 2}
  ---
  kind: Node
  name: web
  spec:
    docker:
      image: nginx:1.27
      endpoint: {type: http, port: 80}
      envFromSecrets: [{envName: API_TOKEN, secret: api, key: token}]
  ---
  kind: Alias
  name: prod
  targets: [{node: price-model, weight: 100}]
  ---
  kind: Secret
  name: api
  entries:
    token: {env: API_TOKEN}    # or {file: token.txt}, or a literal string

Exit status 1 when a node or capture fails, with the reason (a crashing instance's last output).
`,
    )
    .action(
      withSession(async (session, opts) => {
        const files = opts.filename as string[];
        if (files.length === 0) throw new UsageError('give -f FILE, DIR or -');
        const manifests = readManifests(files);
        if (manifests.length === 0) throw new UsageError(`no documents in ${files.join(', ')}`);
        const format = formatOf(opts);
        const dryRun = Boolean(opts.dryRun);
        const structured = format === 'json' || format === 'yaml';
        const results = await apply(session, manifests, {
          dryRun,
          wait: opts.wait as boolean,
          report: (r) => {
            if (structured) return;
            if (format === 'name') return void process.stdout.write(`${r.kind.toLowerCase()}/${r.name}\n`);
            process.stdout.write(`${r.kind.toLowerCase()} ${r.name}: ${(dryRun ? FUTURE : PAST)[r.action]}\n`);
            if (dryRun || r.action === 'update') for (const c of r.changes) process.stdout.write(`    ${formatChange(c)}\n`);
          },
        });
        if (format === 'json') printJson(results);
        else if (format === 'yaml') printYaml(results);
        else if (format === 'table') process.stdout.write(summary(results, dryRun));
      }),
    );
}
