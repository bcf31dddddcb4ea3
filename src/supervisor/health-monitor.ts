import type { Logger } from '../logger';
import { closeGrpcProbe, probe, type ProbeResult, type ProbeTarget } from './health-probe';

interface Watch {
  target: ProbeTarget;
  /** The wait before the next probe, asked after each result (it may depend on the instance's state). */
  intervalMs: () => number;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

/**
 * Probes each watched instance at its node's interval and reports every
 * result; the supervisor turns results into state changes. Probes never
 * overlap for one instance.
 */
export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly onResult: (instanceId: string, result: ProbeResult) => void,
    private readonly log: Logger,
  ) {}

  watch(instanceId: string, target: ProbeTarget, intervalMs: () => number): void {
    const existing = this.watches.get(instanceId);
    if (existing && existing.target.port === target.port && existing.target.path === target.path) return;
    this.unwatch(instanceId);
    const w: Watch = { target, intervalMs, stopped: false };
    this.watches.set(instanceId, w);
    const tick = async (): Promise<void> => {
      if (w.stopped) return;
      let result: ProbeResult;
      try {
        result = await probe(target);
      } catch (err) {
        result = { passed: false, reason: (err as Error).message };
      }
      if (w.stopped) return;
      try {
        this.onResult(instanceId, result);
      } catch (err) {
        this.log.error({ err, instanceId }, 'health result handler failed');
      }
      w.timer = setTimeout(() => void tick(), intervalMs());
    };
    // The first probe goes at once: a fresh instance should join balancing as soon as it can.
    w.timer = setTimeout(() => void tick(), 0);
  }

  unwatch(instanceId: string): void {
    const w = this.watches.get(instanceId);
    if (!w) return;
    w.stopped = true;
    clearTimeout(w.timer);
    this.watches.delete(instanceId);
    if (w.target.type === 'grpc') closeGrpcProbe(w.target.host, w.target.port);
  }

  watching(instanceId: string): boolean {
    return this.watches.has(instanceId);
  }

  close(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }
}
