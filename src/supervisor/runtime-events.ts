import type { Logger } from '../logger';
import type { Runtime } from '../runtime/runtime';
import type { InstanceHealth } from './instance-health';

/**
 * The runtime-event watcher: an instance's exit (the engine's `die` event, a
 * child's 'exit') takes it out of balancing and wakes its node's pass at
 * once, so a node whose last instance died turns Unhealthy without waiting
 * for probes to fail. When the runtime may have missed events, everything is
 * listed again. Returns the function that stops watching.
 */
export function watchRuntimeEvents(runtime: Runtime, health: InstanceHealth, resync: (reason: string) => void, log: Logger): () => void {
  return runtime.watch((event) => {
    if (event.kind === 'exited') {
      health.markExited(event.nodeId, event.instanceId, event.runtimeId, event.exitReason ?? 'it ended');
    } else {
      log.info({ reason: event.reason }, 'runtime events may have been missed; resyncing');
      resync(event.reason);
    }
  });
}
