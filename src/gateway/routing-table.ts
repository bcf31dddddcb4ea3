import type { CheckpointSource, EndpointType } from '../domain/node';

export interface RouteBackend {
  instanceId: string;
  host: string;
  port: number;
}

/** What the data plane needs to route a call to a node. */
export interface NodeRoute {
  nodeId: string;
  folderId: string;
  kind: 'docker' | 'checkpoint';
  endpointType: EndpointType;
  timeoutMs: number;
  idleTimeoutMs: number;
  /** Healthy instances only: the only ones that get traffic. */
  backends: RouteBackend[];
  /**
   * Whether the node may sleep (instance_range.min 0, neither suspended nor
   * being deleted): a call that finds no healthy instance wakes it and waits.
   */
  maySleep: boolean;
  /** For checkpoint nodes: the declared variables calls are checked against. */
  checkpoint?: CheckpointSource;
}

/**
 * The healthy instances of every node, as the supervisor last saw them. The
 * supervisor writes it on every health transition; the node API reads it on
 * every call, so it is a plain map, not a query.
 */
export class RoutingTable {
  private readonly routes = new Map<string, NodeRoute>();
  private readonly listeners = new Set<(nodeId: string) => void>();

  set(route: NodeRoute): void {
    this.routes.set(route.nodeId, route);
    this.changed(route.nodeId);
  }

  delete(nodeId: string): void {
    this.routes.delete(nodeId);
    this.changed(nodeId);
  }

  /** Calls `listener` after each change of a node's route; returns the way to stop. */
  onChange(listener: (nodeId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(nodeId: string): void {
    for (const listener of this.listeners) listener(nodeId);
  }

  /** Every node with a route. */
  nodeIds(): IterableIterator<string> {
    return this.routes.keys();
  }

  get(nodeId: string): NodeRoute | undefined {
    return this.routes.get(nodeId);
  }

  /** Takes one instance out of balancing at once (e.g. its connection was refused). */
  dropBackend(nodeId: string, instanceId: string): void {
    const route = this.routes.get(nodeId);
    if (!route) return;
    this.routes.set(nodeId, { ...route, backends: route.backends.filter((b) => b.instanceId !== instanceId) });
    this.changed(nodeId);
  }
}
