import type { Logger } from '../logger';
import type { LogCursor, NodeLogRepository } from '../store/node-log.repository';
import type { ObservedInstance, Runtime } from '../runtime/runtime';

export interface LogCollectorOptions {
  /** How often each instance's output is read: a line reaches the API within about this long. */
  intervalMs: number;
}

/** Reads on from one position at most this many times per pass, so that one chatty instance does not hold the others. */
const READS_PER_PASS = 8;

/**
 * Copies every instance's output from the runtime into the database while
 * this process leads (the leader lock: other Berth processes on the same
 * database read the lines, they never collect them too). Each instance's
 * read position is written with its lines, so a restart or a new leader
 * goes on where the last one stopped. Before the runtime removes an
 * instance (a crash-looping one is removed and started again), {@link drain}
 * takes what it printed last.
 */
export class LogCollector {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  /** The positions, loaded from the database when this process starts leading. */
  private cursors: Map<string, LogCursor> | undefined;
  /** One read at a time per instance: a drain and a pass must not store the same lines twice. */
  private readonly busy = new Map<string, Promise<void>>();

  constructor(
    private readonly runtime: Runtime,
    private readonly repo: NodeLogRepository,
    private readonly isLeader: () => boolean,
    private readonly log: Logger,
    private readonly options: LogCollectorOptions,
  ) {}

  start(): void {
    if (!this.runtime.readLogs) return;
    this.timer = setInterval(() => {
      this.pass ??= this.collectAll().finally(() => (this.pass = undefined));
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
    await Promise.all(this.busy.values());
  }

  /** One pass over every instance the runtime runs. */
  async collectAll(): Promise<void> {
    if (!this.isLeader()) {
      this.cursors = undefined;
      return;
    }
    try {
      const instances = await this.runtime.listInstances();
      await Promise.all(instances.map((o) => this.collect(o)));
    } catch (err) {
      this.log.warn({ err }, 'cannot collect instance output');
    }
  }

  /** What the instance printed last, read before it is removed. */
  async drain(instanceId: string): Promise<void> {
    if (!this.runtime.readLogs || !this.isLeader()) return;
    try {
      const cursor = (await this.positions()).get(instanceId);
      const instances = await this.runtime.listInstances(cursor?.nodeId);
      const o = instances.find((i) => i.instanceId === instanceId);
      if (o) await this.collect(o);
    } catch (err) {
      this.log.warn({ err, instanceId }, 'cannot read the last output of an instance being removed');
    }
  }

  /** The instance's run is over: its next run (same instance id) reads from its start. */
  async forget(instanceId: string): Promise<void> {
    this.cursors?.delete(instanceId);
    await this.repo.dropCursor(instanceId).catch((err: unknown) => this.log.warn({ err, instanceId }, 'cannot drop a log position'));
  }

  private async positions(): Promise<Map<string, LogCursor>> {
    this.cursors ??= new Map((await this.repo.cursors()).map((c) => [c.instanceId, c]));
    return this.cursors;
  }

  private collect(o: ObservedInstance): Promise<void> {
    const before = this.busy.get(o.instanceId) ?? Promise.resolve();
    const run = before.then(() => this.read(o)).catch((err: unknown) => this.log.warn({ err, nodeId: o.nodeId, instanceId: o.instanceId }, 'cannot read instance output'));
    this.busy.set(o.instanceId, run);
    void run.finally(() => {
      if (this.busy.get(o.instanceId) === run) this.busy.delete(o.instanceId);
    });
    return run;
  }

  private async read(o: ObservedInstance): Promise<void> {
    if (o.state === 'missing' || !o.runtimeId) return;
    const cursors = await this.positions();
    const known = cursors.get(o.instanceId);
    let position = known?.runtimeId === o.runtimeId ? known.position : '';
    for (let i = 0; i < READS_PER_PASS; i++) {
      const read = await this.runtime.readLogs!(o, position);
      if (read.lines.length === 0 && read.position === position) return;
      const cursor: LogCursor = { instanceId: o.instanceId, nodeId: o.nodeId, runtimeId: o.runtimeId, position: read.position };
      await this.repo.append(
        read.lines.map((l) => ({ nodeId: o.nodeId, instanceId: o.instanceId, stream: l.stream, time: l.time, text: l.text })),
        cursor,
        new Date(),
      );
      cursors.set(o.instanceId, cursor);
      position = read.position;
      if (read.lines.length === 0) return;
    }
  }
}
