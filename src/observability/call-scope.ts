import { AsyncLocalStorage } from 'node:async_hooks';
import type { StatusError } from '../api/status';

/**
 * Told of every call that ends at the chokepoint (`guard` in api/adapter.ts):
 * its label (a method's gRPC path, or a typed route's name), what the call
 * learnt as it ran, its error (none when it succeeded) and how long it took.
 * Must not throw.
 */
export interface CallObserver {
  callEnded(label: string, scope: CallScope, error: StatusError | undefined, seconds: number): void;
}

/**
 * What one call through the chokepoint learns as it runs, for the metrics of
 * its end. The data plane fills in the node and alias only once they are
 * resolved, so that an id a caller made up never becomes a label.
 */
export interface CallScope {
  /** The protocol the caller used: its status travels as a gRPC code or an HTTP status. */
  transport: 'grpc' | 'http' | undefined;
  /** The node that ran the call. */
  node?: { id: string; folderId: string };
  /** The alias the caller named, once found. */
  alias?: { folderId: string; name: string };
  /** Who records the call: set by the entry point (control-plane methods) or by the data plane once it resolved a node. */
  observer?: CallObserver;
}

const scopes = new AsyncLocalStorage<CallScope>();

/** Runs one call with its scope, for the code it calls to fill in. */
export function runInCallScope<T>(scope: CallScope, run: () => Promise<T>): Promise<T> {
  return scopes.run(scope, run);
}

/** The scope of the call this code runs in, if any. */
export function currentCallScope(): CallScope | undefined {
  return scopes.getStore();
}

/** The call resolved an alias: its metrics carry the alias's name (see `aliasTargetOf`). */
export function noteAlias(folderId: string, name: string): void {
  const scope = scopes.getStore();
  if (scope) scope.alias = { folderId, name };
}
