import type { Command } from 'commander';
import { call } from '../../client';
import { instanceStateToJSON, Node, NodeSpec, nodeStateToJSON, type Node as NodeMessage } from '../../../gen/berth/v1/node';
import { UsageError } from '../cli-errors';
import { age, enumWord, printResources, table, type Column } from '../output';
import { fromProtoJson, toProtoJson } from '../proto-json';
import { instanceSummary, operationWaitable, waitAll } from '../wait';
import { collect, examples, formatOf, integer, keyValue, withSession } from './common';

const COLUMNS: Column<NodeMessage>[] = [
  ['NAME', (n) => n.name],
  ['KIND', (n) => (n.spec?.docker ? 'docker' : 'checkpoint')],
  ['STATE', (n) => enumWord(nodeStateToJSON(n.status!.state), 'NODE_STATE_')],
  ['HEALTHY', (n) => `${n.status?.instanceCounts?.healthy ?? 0}/${n.status?.desiredInstances ?? 0}`],
  ['IMAGE/CHECKPOINT', (n) => n.spec?.docker?.image ?? n.spec?.checkpoint?.checkpointId ?? ''],
  ['ID', (n) => n.id],
  ['AGE', (n) => age(n.createTime)],
];

export const nodeJson = (n: NodeMessage) => toProtoJson(Node, 'berth.v1.Node', n);

/** `x:float` → a Variable in proto JSON. */
export function variableOf(text: string): { name: string; type: string } {
  const [name, type] = text.split(':');
  if (!name || !type) throw new UsageError(`a variable is name:type (x:float), not ${JSON.stringify(text)}`);
  return { name, type: variableTypeName(type) };
}

/** `float` or `VARIABLE_TYPE_FLOAT` → `VARIABLE_TYPE_FLOAT`; `list[int]` → `VARIABLE_TYPE_LIST_INT`. */
export function variableTypeName(type: string): string {
  if (type.startsWith('VARIABLE_TYPE_')) return type;
  return `VARIABLE_TYPE_${type.replace(/\[(\w+)\]/, '_$1').toUpperCase()}`;
}

export function registerNodes(program: Command): void {
  const nodes = program
    .command('nodes')
    .alias('node')
    .description('list, inspect, create, delete, suspend and resume nodes')
    .addHelpText('after', examples('berth nodes list', 'berth nodes get web -o yaml', 'berth nodes create web --image nginx:1.27 --port 80 --min 2', 'berth nodes suspend web'));

  nodes
    .command('list')
    .alias('ls')
    .description("the folder's nodes, with their healthy instances")
    .addHelpText('after', examples('berth nodes list -o name'))
    .action(withSession(async (session, opts) => printResources(formatOf(opts), await session.listNodes(), { columns: COLUMNS, json: nodeJson, name: (n) => n.name })));

  nodes
    .command('get <node>')
    .description('one node (by name, or id) and its instances')
    .addHelpText('after', examples('berth nodes get web', 'berth nodes get web -o json'))
    .action(
      withSession(async (session, opts, [ref]) => {
        const node = await session.findNode(ref!);
        const format = formatOf(opts);
        if (format !== 'table') return printResources(format, [node], { columns: COLUMNS, json: nodeJson, name: (n) => n.name, single: true });
        printResources('table', [node], { columns: COLUMNS, json: nodeJson, name: (n) => n.name, single: true });
        if (node.status?.reason) process.stdout.write(`\nreason: ${node.status.reason}\n`);
        process.stdout.write(`\ninstances: ${await instanceSummary(session, node)}\n`);
        const { instances } = await call(session.berth.nodes, 'listInstances', { nodeId: node.id, pageSize: 100, pageToken: '' });
        if (instances.length > 0)
          process.stdout.write(
            table(
              ['INSTANCE', 'STATE', 'RESTARTS', 'AGE', 'REASON'],
              instances.map((i) => [i.id, enumWord(instanceStateToJSON(i.state), 'INSTANCE_STATE_'), String(i.restartCount), age(i.startTime), i.reason]),
            ),
          );
      }),
    );

  nodes
    .command('create <name>')
    .description('create a Docker node (--image) or a checkpoint node (--checkpoint) and wait until it is healthy')
    .option('--image <image>', 'Docker image')
    .option('--port <port>', 'port the image serves on', integer('--port'))
    .option('--grpc', 'the endpoint speaks gRPC (default HTTP)')
    .option('--health-path <path>', 'HTTP health check path')
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect, [])
    .option('--checkpoint <checkpoint>', 'checkpoint (name or id) to serve')
    .option('--input <name:type>', 'input variable of a checkpoint node (repeatable)', collect, [])
    .option('--output-var <name:type>', 'output variable of a checkpoint node (repeatable)', collect, [])
    .option('--min <n>', 'fewest instances', integer('--min'))
    .option('--max <n>', 'most instances', integer('--max'))
    .option('--no-wait', 'return once the operation started')
    .addHelpText(
      'after',
      examples(
        'berth nodes create web --image nginx:1.27 --port 80 --min 2 --max 4',
        'berth nodes create price-model --checkpoint price --input x:float --output-var y:float',
      ),
    )
    .action(
      withSession(async (session, opts, [name]) => {
        const spec: Record<string, unknown> = {};
        if (opts.image && opts.checkpoint) throw new UsageError('give --image or --checkpoint, not both');
        if (opts.image) {
          if (!opts.port) throw new UsageError('--image needs --port');
          spec.docker = {
            image: opts.image,
            endpoint: { type: opts.grpc ? 'ENDPOINT_TYPE_GRPC' : 'ENDPOINT_TYPE_HTTP', port: opts.port },
            env: Object.fromEntries((opts.env as string[]).map((e) => keyValue(e))),
            ...(opts.healthPath ? { healthCheck: { type: 'HEALTH_CHECK_TYPE_HTTP', path: opts.healthPath } } : {}),
          };
        } else if (opts.checkpoint) {
          const checkpoint = await session.findCheckpoint(opts.checkpoint);
          spec.checkpoint = {
            checkpointId: checkpoint.id,
            inputVariables: (opts.input as string[]).map(variableOf),
            outputVariables: (opts.outputVar as string[]).map(variableOf),
          };
        } else throw new UsageError('give --image IMAGE --port PORT, or --checkpoint CHECKPOINT');
        if (opts.min !== undefined || opts.max !== undefined) spec.instanceRange = { min: opts.min ?? 0, max: opts.max ?? opts.min ?? 1 };
        const op = await call(session.berth.nodes, 'createNode', {
          node: Node.fromPartial({ folderId: await session.folderId(), name, spec: fromProtoJson(NodeSpec, 'berth.v1.NodeSpec', spec as never) }),
        });
        process.stdout.write(`node ${name} created (${op.resourceId}), operation ${op.id}\n`);
        if (opts.wait) await waitAll([operationWaitable(session, op, `node ${name}`)]);
      }),
    );

  const lifecycle = (verb: 'delete' | 'suspend' | 'resume', description: string) =>
    nodes
      .command(`${verb} <node...>`)
      .description(description)
      .option('--no-wait', 'return once the operation started')
      .addHelpText('after', examples(`berth nodes ${verb} web`))
      .action(
        withSession(async (session, opts, refs) => {
          const waits = [];
          for (const ref of refs) {
            const node = await session.findNode(ref);
            const nodeId = node.id;
            const op =
              verb === 'delete'
                ? await call(session.berth.nodes, 'deleteNode', { nodeId, etag: '' })
                : verb === 'suspend'
                  ? await call(session.berth.nodes, 'suspendNode', { nodeId })
                  : await call(session.berth.nodes, 'resumeNode', { nodeId });
            process.stdout.write(`node ${node.name}: ${verb} started, operation ${op.id}\n`);
            waits.push(operationWaitable(session, op, `node ${node.name}`));
          }
          if (opts.wait) await waitAll(waits);
        }),
      );
  lifecycle('delete', 'delete nodes (their instances stop) and wait until they are gone');
  lifecycle('suspend', 'stop every instance of a node, keeping the node');
  lifecycle('resume', 'start a suspended node again and wait until it is healthy');
}
