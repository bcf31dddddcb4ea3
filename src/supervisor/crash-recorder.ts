import { NO_EVENTS, type NodeEventSink } from '../domain/node-log';
import { crashingMessage, crashLoopFailure, describeCrash, describeExit, lastOutputOf, LAST_OUTPUT_LINES, type CrashRecord } from '../domain/crash-report';
import type { Instance } from '../domain/instance';
import type { Logger } from '../logger';
import type { ObservedInstance, Runtime } from '../runtime/runtime';

/**
 * Remembers how each instance last exited and how often in a row, for the
 * reconcile pass: the exit code and the last lines of output, read from the
 * runtime when the pass first sees the exit — before it removes or restarts
 * the container or process, which takes the output with it. What to make of
 * it (a crash loop that fails the start, the words of a reason) is decided
 * in `../domain/crash-report.ts`.
 *
 * Kept in memory, like the crash-loop backoff: a Berth that restarts counts
 * anew, which at worst leaves a failing start to the startup timeout.
 */
export class CrashRecorder {
  private readonly records = new Map<string, CrashRecord>();

  constructor(
    private readonly runtime: Runtime,
    private readonly log: Logger,
    private readonly events: NodeEventSink = NO_EVENTS,
  ) {}

  /**
   * Notes what a pass sees: each instance whose run ended since it was last
   * noted (one run, one crash), with its last output; an instance seen
   * healthy starts a new count. `rows` carry the states the pass settled on
   * (probe results over what the rows recorded).
   */
  async note(nodeId: string, rows: Instance[], observed: Map<string, ObservedInstance>): Promise<void> {
    for (const r of rows) {
      if (r.state === 'deleting') continue;
      const o = observed.get(r.id);
      if (o?.state === 'running' && r.state === 'healthy') {
        this.records.delete(r.id);
        continue;
      }
      if (o?.state !== 'exited') continue;
      const before = this.records.get(r.id);
      if (before?.last.runtimeId === o.runtimeId) continue;
      // Blank lines do not count: read a few more than are kept.
      const raw = await this.runtime.tailLogs(r.id, LAST_OUTPUT_LINES * 4).catch((err: unknown) => {
        this.log.warn({ err, nodeId, instanceId: r.id }, 'cannot read the output of an instance that exited');
        return '';
      });
      const last = {
        runtimeId: o.runtimeId,
        ...(o.exitCode !== undefined ? { exitCode: o.exitCode } : {}),
        ...(o.exitReason !== undefined ? { exitReason: o.exitReason } : {}),
        output: lastOutputOf(raw),
      };
      const record = { inARow: (before?.inARow ?? 0) + 1, last };
      this.records.set(r.id, record);
      this.log.warn({ nodeId, instanceId: r.id, runtimeId: o.runtimeId, inARow: record.inARow, exit: describeCrash(last) }, 'instance exit noted');
      this.events.record({ nodeId, instanceId: r.id, type: 'Warning', reason: 'InstanceExited', message: `${describeCrash(last)} (${record.inARow} in a row)` });
    }
  }

  /** How the instance's run `runtimeId` ended ("exit code 1"), when it is the one last noted. */
  exitOf(instanceId: string, runtimeId: string): string | undefined {
    const record = this.records.get(instanceId);
    return record?.last.runtimeId === runtimeId ? describeExit(record.last) : undefined;
  }

  /** "; last output: …" of the instance's run `runtimeId`, to end its reason with; '' when it printed nothing or is not the one noted. */
  lastWordsOf(instanceId: string, runtimeId: string): string {
    const record = this.records.get(instanceId);
    return record?.last.runtimeId === runtimeId && record.last.output ? `; last output: ${record.last.output}` : '';
  }

  /** The reason the start of `generation` fails because its instances keep crashing, if it does. */
  failureOf(generation: number, instances: Instance[]): string | undefined {
    return crashLoopFailure(instances, generation, (id) => this.records.get(id));
  }

  /** The message of the node's `InstancesCrashing` condition, while it is true. */
  crashingOf(generation: number, instances: Instance[]): string | undefined {
    return crashingMessage(instances, generation, (id) => this.records.get(id));
  }

  /** Drops what is remembered of an instance that is gone. */
  forget(instanceId: string): void {
    this.records.delete(instanceId);
  }
}
