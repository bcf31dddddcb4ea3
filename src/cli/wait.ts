import logUpdate from 'log-update';
import { call } from '../client';
import { instanceStateToJSON, nodeStateToJSON, NodeState, type Node } from '../../gen/berth/v1/node';
import { CheckpointOperationMetadata, NodeOperationMetadata, type Operation } from '../../gen/berth/v1/operation';
import { CliError, EXIT } from './cli-errors';
import { enumWord } from './output';
import type { Session } from './session';

/** What one polled thing says now: a line for the display, and whether (and how) it ended. */
export interface Progress {
  line: string;
  done: boolean;
  /** Why it failed (it is done). */
  error?: string;
}

/** Something `waitAll` follows until it ends: an operation, or a node settling after an update. */
export interface Waitable {
  label: string;
  /** Shown when the user stops waiting: how to find it again. */
  resume: string;
  poll(): Promise<Progress>;
}

const POLL_MS = 500;

function progressOf(op: Operation): string {
  const any = op.metadata;
  if (!any) return '';
  try {
    if (any.typeUrl.endsWith('/berth.v1.NodeOperationMetadata')) return NodeOperationMetadata.decode(any.value).progress;
    if (any.typeUrl.endsWith('/berth.v1.CheckpointOperationMetadata')) return CheckpointOperationMetadata.decode(any.value).progress;
  } catch {
    // metadata of another shape: nothing to show
  }
  return '';
}

/** `healthy 1/2 (starting 1)`: the instances of a node by state, as the user reads them. */
export async function instanceSummary(session: Session, node: Node): Promise<string> {
  const { instances } = await call(session.berth.nodes, 'listInstances', { nodeId: node.id, pageSize: 100, pageToken: '' });
  const byState = new Map<string, number>();
  for (const i of instances) {
    // UNDEFINED is the seed's word for an instance recorded but not yet created: "pending" reads better.
    const word = enumWord(instanceStateToJSON(i.state), 'INSTANCE_STATE_');
    const state = word === 'undefined' ? 'pending' : word;
    byState.set(state, (byState.get(state) ?? 0) + 1);
  }
  const healthy = byState.get('healthy') ?? 0;
  byState.delete('healthy');
  const others = [...byState].map(([state, n]) => `${state} ${n}`).join(', ');
  // Before the supervisor's first pass the node wants nothing yet: show the minimum it will want.
  const wanted = node.status?.state === NodeState.NODE_STATE_SUSPENDED ? 0 : Math.max(node.status?.desiredInstances ?? 0, node.spec?.instanceRange?.min ?? 0);
  return `healthy ${healthy}/${wanted}${others ? ` (${others})` : ''}`;
}

function nodeLine(node: Node, summary: string, extra: string): string {
  const state = enumWord(nodeStateToJSON(node.status?.state ?? NodeState.NODE_STATE_UNSPECIFIED), 'NODE_STATE_');
  const event = extra || node.status?.reason || '';
  return `${state.padEnd(9)} ${summary}${event ? `  ${event}` : ''}`;
}

/** Follows an operation; for a node's operation, the node's instances too. */
export function operationWaitable(session: Session, op: Operation, label: string): Waitable {
  const started = Date.now();
  return {
    label,
    resume: `berth operations wait ${op.id}`,
    async poll() {
      const now = await call(session.berth.operations, 'getOperation', { operationId: op.id });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (now.done && now.error) return { line: `failed after ${seconds}s`, done: true, error: now.error.message };
      let line = progressOf(now);
      if (now.description.endsWith('Node') && now.resourceId) {
        try {
          const node = await call(session.berth.nodes, 'getNode', { nodeId: now.resourceId });
          line = nodeLine(node, await instanceSummary(session, node), line);
        } catch {
          // a node already deleted: its operation tells the end
        }
      }
      if (now.done) return { line: `${line ? `${line}  ` : ''}done in ${seconds}s`, done: true };
      return { line: line || 'in progress', done: false };
    },
  };
}

/**
 * Follows a node after an UpdateNode (which has no operation): done once the
 * supervisor has acted on the new generation and the node is healthy, failed
 * when its instances crash.
 */
export function nodeSettledWaitable(session: Session, node: Node, label: string): Waitable {
  const started = Date.now();
  return {
    label,
    resume: `berth nodes get ${node.name}`,
    async poll() {
      const now = await call(session.berth.nodes, 'getNode', { nodeId: node.id });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const summary = await instanceSummary(session, now);
      const observed = (now.status?.observedGeneration ?? 0) >= now.generation;
      const state = now.status?.state;
      const crashing = now.status?.conditions.find((c) => c.type === 'InstancesCrashing' && c.status);
      if (observed && crashing) return { line: nodeLine(now, summary, ''), done: true, error: crashing.message || now.status?.reason };
      // A generation that never became healthy in time: the supervisor gave up and stopped its instances.
      if (observed && state === NodeState.NODE_STATE_UNHEALTHY && (now.status?.desiredInstances ?? 0) === 0)
        return { line: nodeLine(now, summary, ''), done: true, error: now.status?.reason || 'the node is unhealthy' };
      const healthy = now.status?.instanceCounts?.healthy ?? 0;
      const settled =
        observed &&
        (state === NodeState.NODE_STATE_SUSPENDED || (state === NodeState.NODE_STATE_HEALTHY && healthy >= (now.status?.desiredInstances ?? 0)));
      if (settled) return { line: `${nodeLine(now, summary, '')}  done in ${seconds}s`, done: true };
      return { line: nodeLine(now, summary, ''), done: false };
    },
  };
}

export interface WaitOptions {
  /** Give up after this long (the operations go on). */
  timeoutMs?: number;
}

/**
 * Waits for every waitable, showing each one's line on stderr (stdout keeps
 * only results, for `-o json` and pipes): on a terminal one block redrawn in
 * place (log-update), the final state printed plainly after it; otherwise a
 * plain line whenever a line changes. Ctrl-C stops waiting and says how to
 * pick up again; the operations go on. Throws a CliError naming every failure.
 */
export async function waitAll(items: Waitable[], options: WaitOptions = {}): Promise<void> {
  if (items.length === 0) return;
  const tty = Boolean(process.stderr.isTTY);
  // The cursor stays visible: hiding it would leave a restore sequence after the final line.
  const live = logUpdate.create(process.stderr, { showCursor: true });
  const width = Math.max(...items.map((i) => i.label.length));
  const lines = new Map<Waitable, Progress>();
  const printed = new Map<Waitable, string>();
  const render = (final: boolean) => {
    const text = (w: Waitable) => `${w.label.padEnd(width)}  ${lines.get(w)?.line ?? 'waiting'}`;
    if (tty && !final) {
      live(items.map(text).join('\n'));
      return;
    }
    for (const w of items) {
      const t = text(w);
      if (printed.get(w) === t) continue;
      printed.set(w, t);
      if (!tty || final) process.stderr.write(`${t}\n`);
    }
  };
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onSigint = () => {
    interrupted = true;
    wake?.();
  };
  process.once('SIGINT', onSigint);
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const pending = items.filter((w) => !lines.get(w)?.done);
      if (pending.length === 0) break;
      await Promise.all(pending.map(async (w) => lines.set(w, await w.poll())));
      render(false);
      if (items.every((w) => lines.get(w)?.done)) break;
      if (Date.now() > deadline)
        throw new CliError(`gave up waiting after ${Math.round(timeoutMs / 1000)}s; it goes on: ${pending.map((w) => w.resume).join('; ')}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, POLL_MS);
      });
      if (interrupted) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (tty) {
      live.clear();
      live.done();
    }
    render(true);
  }
  if (interrupted) {
    const going = items.filter((w) => !lines.get(w)?.done);
    throw new CliError(`stopped waiting; still going on: ${going.map((w) => w.resume).join('; ')}`, EXIT.interrupted);
  }
  const failed = items.filter((w) => lines.get(w)?.error);
  if (failed.length > 0) throw new CliError(failed.map((w) => `${w.label} failed: ${lines.get(w)!.error}`).join('\n'), EXIT.failed);
}
