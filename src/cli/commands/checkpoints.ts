import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { call } from '../../client';
import { capturedVariableKindToJSON, Checkpoint, checkpointStateToJSON } from '../../../gen/berth/v1/checkpoint';
import { age, enumWord, printResources, table, type Column } from '../output';
import { toProtoJson } from '../proto-json';
import type { Session } from '../session';
import { operationWaitable, waitAll } from '../wait';
import { examples, formatOf, integer, withSession } from './common';

export const checkpointJson = (c: Checkpoint) => toProtoJson(Checkpoint, 'berth.v1.Checkpoint', c);

const COLUMNS: Column<Checkpoint>[] = [
  ['NAME', (c) => c.name],
  ['STATE', (c) => enumWord(checkpointStateToJSON(c.state), 'CHECKPOINT_STATE_')],
  ['CELLS', (c) => String(c.cellSources.length)],
  ['SERVED', (c) => String(c.servedCellIndex)],
  ['VARIABLES', (c) => c.variables.map((v) => v.name).join(',')],
  ['ID', (c) => c.id],
  ['AGE', (c) => age(c.createTime)],
];

/** A resource name from a notebook's file name: `Price Model.ipynb` → `price-model`. */
export function nameFromFile(file: string): string {
  const base = path.basename(file).replace(/\.ipynb$/i, '').toLowerCase();
  return base.replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 63) || 'checkpoint';
}

/** What `checkpoint get` and `create` show: the captured variables, one per line. */
function printVariables(c: Checkpoint): void {
  process.stdout.write(
    `checkpoint ${c.name} (${c.id}): ${enumWord(checkpointStateToJSON(c.state), 'CHECKPOINT_STATE_')}, served cell ${c.servedCellIndex}` +
      `${c.pythonVersion ? `, Python ${c.pythonVersion}` : ''}\n`,
  );
  if (c.variables.length === 0) return;
  process.stdout.write(
    table(
      ['VARIABLE', 'TYPE', 'KIND'],
      c.variables.map((v) => [v.name, v.typeName, enumWord(capturedVariableKindToJSON(v.kind), 'CAPTURED_VARIABLE_KIND_')]),
    ),
  );
}

/** Uploads a notebook, waits for the capture (unless told not to) and returns the checkpoint. */
export async function createCheckpoint(
  session: Session,
  input: { notebookFile: string; name: string; cell?: number; description?: string; environmentImage?: string },
  wait: boolean,
): Promise<{ checkpointId: string; operationId: string }> {
  const op = await call(session.berth.checkpoints, 'createCheckpoint', {
    folderId: await session.folderId(),
    name: input.name,
    description: input.description ?? '',
    notebook: readFileSync(input.notebookFile, 'utf8'),
    servedCellIndex: input.cell,
    environmentImage: input.environmentImage ?? '',
  });
  if (wait) await waitAll([operationWaitable(session, op, `checkpoint ${input.name}`)]);
  return { checkpointId: op.resourceId, operationId: op.id };
}

export function registerCheckpoints(program: Command): void {
  const checkpoints = program
    .command('checkpoints')
    .alias('checkpoint')
    .description('checkpoints: the captured state of a notebook, served by checkpoint nodes')
    .addHelpText('after', examples('berth checkpoint create price.ipynb --cell 2', 'berth checkpoints list'));

  checkpoints
    .command('list')
    .alias('ls')
    .description("the folder's checkpoints")
    .action(withSession(async (session, opts) => printResources(formatOf(opts), await session.listCheckpoints(), { columns: COLUMNS, json: checkpointJson, name: (c) => c.name })));

  checkpoints
    .command('get <checkpoint>')
    .description('one checkpoint and its captured variables')
    .addHelpText('after', examples('berth checkpoint get price', 'berth checkpoint get price -o yaml'))
    .action(
      withSession(async (session, opts, [ref]) => {
        const c = await session.findCheckpoint(ref!);
        const format = formatOf(opts);
        if (format === 'table') printVariables(c);
        else printResources(format, [c], { columns: COLUMNS, json: checkpointJson, name: (x) => x.name, single: true });
      }),
    );

  checkpoints
    .command('create <notebook>')
    .description('upload a notebook (.ipynb) and capture it: the cells before the served one run once, their state is kept')
    .option('--cell <n>', 'index of the served code cell (default: the last code cell)', integer('--cell'))
    .option('--name <name>', "the checkpoint's name (default: from the file name)")
    .option('--description <text>', 'free text')
    .option('--environment-image <image>', 'image to capture and serve in (default: the system image)')
    .option('--no-wait', 'return once the capture started')
    .addHelpText('after', examples('berth checkpoint create price.ipynb --cell 2 --name price'))
    .action(
      withSession(async (session, opts, [file]) => {
        const name = (opts.name as string | undefined) ?? nameFromFile(file!);
        const { checkpointId, operationId } = await createCheckpoint(
          session,
          { notebookFile: file!, name, cell: opts.cell, description: opts.description, environmentImage: opts.environmentImage },
          opts.wait,
        );
        if (!opts.wait) {
          process.stdout.write(`checkpoint ${name} (${checkpointId}): capture started, operation ${operationId}\n`);
          return;
        }
        const c = await call(session.berth.checkpoints, 'getCheckpoint', { checkpointId });
        const format = formatOf(opts);
        if (format === 'table') printVariables(c);
        else printResources(format, [c], { columns: COLUMNS, json: checkpointJson, name: (x) => x.name, single: true });
      }),
    );

  checkpoints
    .command('delete <checkpoint...>')
    .description('delete checkpoints no node serves')
    .addHelpText('after', examples('berth checkpoint delete price'))
    .action(
      withSession(async (session, _opts, refs) => {
        for (const ref of refs) {
          const c = await session.findCheckpoint(ref);
          await call(session.berth.checkpoints, 'deleteCheckpoint', { checkpointId: c.id });
          process.stdout.write(`checkpoint ${c.name} deleted\n`);
        }
      }),
    );
}
