import { constants } from 'node:os';
import type Dockerode from 'dockerode';
import type { HostPort, ObservedInstance, ObservedState } from '../runtime';
import { identityFromLabels } from './labels';

/** Docker's zero time, reported as StartedAt for a container that never started. */
const NEVER = '0001-01-01T00:00:00Z';

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name]),
);

/**
 * Docker's seven container states folded into the runtime's four: a paused
 * or restarting container still holds its process, one being removed or dead
 * has finished.
 */
export function observedState(status: string): ObservedState {
  switch (status) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    default:
      return 'exited';
  }
}

/** Why a container is not running, in words a person reads in an instance's status. */
export function exitReason(state: Dockerode.ContainerInspectInfo['State']): string | undefined {
  if (state.OOMKilled) return 'OOMKilled';
  if (state.Error) return state.Error;
  if (observedState(state.Status) !== 'exited') return undefined;
  const signal = state.ExitCode > 128 ? SIGNAL_NAMES.get(state.ExitCode - 128) : undefined;
  return signal ? `exit code ${state.ExitCode} (${signal})` : `exit code ${state.ExitCode}`;
}

/**
 * Published ports by container port. A binding on all interfaces is reported
 * at `hostIp`, the address Berth reaches published ports on.
 */
export function publishedPorts(info: Dockerode.ContainerInspectInfo, hostIp: string): Record<number, HostPort> {
  const ports: Record<number, HostPort> = {};
  for (const [key, bindings] of Object.entries(info.NetworkSettings.Ports ?? {})) {
    const [portText, protocol] = key.split('/');
    const binding = bindings?.find((b) => b.HostPort !== '');
    if (protocol !== 'tcp' || !binding) continue;
    const wildcard = binding.HostIp === '' || binding.HostIp === '0.0.0.0' || binding.HostIp === '::';
    ports[Number(portText)] = { host: wildcard ? hostIp : binding.HostIp, port: Number(binding.HostPort) };
  }
  return ports;
}

/**
 * What the runtime reports about a container, from its inspect data; undefined
 * for a container whose labels do not identify a Berth instance.
 */
export function toObservedInstance(info: Dockerode.ContainerInspectInfo, hostIp: string): ObservedInstance | undefined {
  const identity = identityFromLabels(info.Config.Labels);
  if (!identity) return undefined;
  const state = observedState(info.State.Status);
  const reason = exitReason(info.State);
  const started = info.State.StartedAt && info.State.StartedAt !== NEVER ? new Date(info.State.StartedAt) : undefined;
  return {
    ...identity,
    runtimeId: info.Id,
    state,
    ...(state === 'exited' ? { exitCode: info.State.ExitCode } : {}),
    ...(reason === undefined ? {} : { exitReason: reason }),
    ...(started === undefined ? {} : { startedAt: started }),
    ports: publishedPorts(info, hostIp),
  };
}
