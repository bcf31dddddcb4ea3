import { HealthImplementation, type ServingStatus } from 'grpc-health-check';

/**
 * grpc.health.v1 with services that come and go (the typed services of
 * nodes): a service forgotten is unknown again (Check answers NOT_FOUND,
 * Watch sends SERVICE_UNKNOWN), as if it had never been set.
 */
export class ServiceHealth extends HealthImplementation {
  private readonly known = new Set<string>();

  override setStatus(service: string, status: ServingStatus): void {
    this.known.add(service);
    super.setStatus(service, status);
  }

  forget(service: string): void {
    if (!this.known.delete(service)) return;
    // grpc-health-check keeps its statuses and watchers private; nothing else removes a service.
    const self = this as unknown as {
      statusMap: Map<string, ServingStatus>;
      watchers: Map<string, Set<(status: ServingStatus | 'SERVICE_UNKNOWN') => void>>;
    };
    self.statusMap.delete(service);
    for (const watcher of self.watchers.get(service) ?? []) watcher('SERVICE_UNKNOWN');
  }
}
