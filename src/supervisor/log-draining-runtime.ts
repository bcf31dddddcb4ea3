import type { InstanceSpec, ObservedInstance, RegistryAuth, Runtime, RuntimeEventListener } from '../runtime/runtime';
import type { LogCollector } from './log-collector';

/**
 * The runtime as the supervisor and the garbage collector see it: removing
 * an instance first collects what it printed last (removing a container or a
 * process's log file takes its output with it), and its run's read position
 * is dropped after. Everything else goes straight to the runtime.
 */
export class LogDrainingRuntime implements Runtime {
  readonly kind: Runtime['kind'];

  constructor(
    private readonly inner: Runtime,
    private readonly collector: LogCollector,
  ) {
    this.kind = inner.kind;
  }

  async removeInstance(instanceId: string, graceSeconds?: number): Promise<void> {
    await this.collector.drain(instanceId);
    await this.inner.removeInstance(instanceId, graceSeconds);
    await this.collector.forget(instanceId);
  }

  ensureImage(image: string, auth?: RegistryAuth, onProgress?: (line: string) => void): Promise<void> {
    return this.inner.ensureImage(image, auth, onProgress);
  }
  startInstance(spec: InstanceSpec): Promise<ObservedInstance> {
    return this.inner.startInstance(spec);
  }
  listInstances(nodeId?: string): Promise<ObservedInstance[]> {
    return this.inner.listInstances(nodeId);
  }
  watch(listener: RuntimeEventListener): () => void {
    return this.inner.watch(listener);
  }
  removeNodeResources(nodeId: string): Promise<void> {
    return this.inner.removeNodeResources(nodeId);
  }
  listHeld(): ReturnType<Runtime['listHeld']> {
    return this.inner.listHeld();
  }
  tailLogs(instanceId: string, lines: number): Promise<string> {
    return this.inner.tailLogs(instanceId, lines);
  }
  capabilities(): ReturnType<Runtime['capabilities']> {
    return this.inner.capabilities();
  }
}
