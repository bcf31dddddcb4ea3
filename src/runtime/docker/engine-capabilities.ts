import type { RuntimeCapabilities } from '../runtime';

/** The part of `docker info` this reads. */
export interface EngineInfo {
  Runtimes?: Record<string, unknown> | null;
}

/**
 * What the engine's `docker info` says instances can get. GPUs need the
 * NVIDIA container runtime registered with the engine (`nvidia` among its
 * runtimes); without it a device request fails every container create.
 */
export function capabilitiesOf(info: EngineInfo): RuntimeCapabilities {
  const runtimes = Object.keys(info.Runtimes ?? {}).sort();
  if (runtimes.includes('nvidia')) return {};
  return {
    gpuUnavailable: `the Docker engine has no GPU runtime: its runtimes are ${runtimes.join(', ') || 'none'}, without nvidia (install the NVIDIA Container Toolkit and register its runtime)`,
  };
}

/**
 * How long an answer is kept: the engine is asked once a minute at most,
 * and an engine given the NVIDIA runtime is seen without a restart of Berth.
 */
const TTL_MS = 60_000;

/** {@link capabilitiesOf} the engine, asked through `info` and kept for a minute; a failed ask is not kept. */
export class EngineCapabilities {
  private cached: { at: number; value: Promise<RuntimeCapabilities> } | undefined;

  constructor(private readonly info: () => Promise<EngineInfo>) {}

  get(): Promise<RuntimeCapabilities> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < TTL_MS) return this.cached.value;
    const value = this.info().then(capabilitiesOf);
    const entry = { at: now, value };
    this.cached = entry;
    value.catch(() => {
      if (this.cached === entry) this.cached = undefined;
    });
    return value;
  }
}
