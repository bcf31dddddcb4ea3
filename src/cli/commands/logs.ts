import { Metadata, status } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { call } from '../../client';
import type { NodeEvent, NodeLogEntry } from '../../../gen/berth/v1/node_log';
import { UsageError } from '../cli-errors';
import { printJson, printYaml, table } from '../output';
import { listAll, type Session } from '../session';
import { collect, examples, formatOf, withSession, type Options } from './common';

/** `5m`, `90s`, `2h`, `1d` → milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`--since takes a duration such as 30s, 5m, 2h or 1d, not ${JSON.stringify(text)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function logLine(entry: NodeLogEntry, opts: Options): string {
  const parts: string[] = [];
  if (opts.timestamps) parts.push(entry.time?.toISOString() ?? '');
  if (!opts.instance) parts.push(`[${entry.instanceId || 'node'}]`);
  if (entry.stream === 'stderr' || entry.stream === 'event') parts.push(`${entry.stream}:`);
  parts.push(entry.text.replace(/\n$/, ''));
  return `${parts.join(' ')}\n`;
}

async function printEvents(session: Session, nodeId: string, opts: Options, startTime: Date | undefined): Promise<void> {
  const events = await listAll(async (pageToken) => {
    const r = await call(session.berth.nodes, 'listNodeEvents', { nodeId, instanceId: opts.instance ?? '', startTime, endTime: undefined, pageSize: 1000, pageToken });
    return { items: r.events, next: r.nextPageToken };
  });
  const format = formatOf(opts);
  const json = (e: NodeEvent) => ({ ...e, time: e.time?.toISOString() });
  if (format === 'json') return printJson(events.map(json));
  if (format === 'yaml') return printYaml(events.map(json));
  if (events.length === 0) return void process.stderr.write('no events\n');
  process.stdout.write(table(['TIME', 'TYPE', 'REASON', 'INSTANCE', 'MESSAGE'], events.map((e) => [e.time?.toISOString() ?? '', e.type, e.reason, e.instanceId, e.message])));
}

/** Follows the logs until the node is gone or Ctrl-C (which ends the stream and exits 0). */
function follow(session: Session, nodeId: string, opts: Options, startTime: Date | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = session.berth.nodes.streamNodeLogs(
      { nodeId, instanceId: opts.instance ?? '', stream: opts.stream ?? '', startTime, tailLines: startTime ? 0 : (opts.tail ?? 10), follow: true, contains: opts.grep ?? '' },
      new Metadata(),
    );
    const stop = () => stream.cancel();
    process.once('SIGINT', stop);
    stream.on('data', (entry: NodeLogEntry) => process.stdout.write(logLine(entry, opts)));
    stream.on('error', (err: { code?: number }) => {
      process.removeListener('SIGINT', stop);
      if (err.code === status.CANCELLED) resolve();
      else reject(err);
    });
    stream.on('end', () => {
      process.removeListener('SIGINT', stop);
      resolve();
    });
  });
}

export function registerLogs(program: Command): void {
  program
    .command('logs <node>')
    .description("a node's instance output (stdout and stderr) and, with --events, what happened to it")
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--instance <id>', 'one instance only')
    .option('--since <duration>', 'only lines newer than this: 30s, 5m, 2h, 1d')
    .option('--tail <n>', 'with -f: start with the last N lines (default 10)', (v) => Number(v))
    .option('--stream <name>', 'stdout, stderr or event')
    .option('--grep <text>', 'only lines containing this text')
    .option('--timestamps', 'print each line with its time')
    .option('--events', "the node's events (created, healthy, exited, scaled…) instead of its output")
    .addHelpText('after', examples('berth logs web', 'berth logs web -f --since 5m', 'berth logs price-model --grep Traceback', 'berth logs web --events'))
    .action(
      withSession(async (session, opts, [ref]) => {
        const node = await session.findNode(ref!);
        const startTime = opts.since ? new Date(Date.now() - durationMs(opts.since as string)) : undefined;
        if (opts.events) return printEvents(session, node.id, opts, startTime);
        if (opts.follow) return follow(session, node.id, opts, startTime);
        const entries = await listAll(async (pageToken) => {
          const r = await call(session.berth.nodes, 'listNodeLogs', {
            nodeId: node.id,
            instanceId: opts.instance ?? '',
            stream: opts.stream ?? '',
            startTime,
            endTime: undefined,
            contains: opts.grep ?? '',
            pageSize: 1000,
            pageToken,
          });
          return { items: r.entries, next: r.nextPageToken };
        });
        const format = formatOf(opts);
        const json = (e: NodeLogEntry) => ({ ...e, time: e.time?.toISOString() });
        if (format === 'json') return printJson(entries.map(json));
        if (format === 'yaml') return printYaml(entries.map(json));
        for (const entry of entries) process.stdout.write(logLine(entry, opts));
      }),
    );
}
