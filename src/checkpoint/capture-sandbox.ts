import type { CapturedVariable, CapturedVariableKind } from '../domain/checkpoint';
import type { EnvironmentFacts } from '../domain/environment';

/** One capture: the cells, which one is served, and the limits it runs under. */
export interface CaptureRequest {
  /** Names the capture's container (docker); ignored by the process sandbox. */
  checkpointId: string;
  /** The image the cells run in (docker); ignored by the process sandbox. */
  environmentImage: string;
  cells: string[];
  served: number;
  timeoutMs: number;
  memoryMb: number;
  /** Aborts the capture (the operation was cancelled). */
  signal?: AbortSignal;
  /** Told what is being done before the cells run (the system image being built, say). */
  onProgress?: (line: string) => void;
}

export type CaptureResult =
  | {
      ok: true;
      pythonVersion: string;
      variables: CapturedVariable[];
      moduleVersions: Record<string, string>;
      /** The image id the cells ran in (docker); empty for the process sandbox. */
      environmentImageId: string;
      blobFile: string;
      cleanup: () => Promise<void>;
    }
  | { ok: false; message: string };

/**
 * Where captures run: a local Python process (the process runtime) or a
 * container of the checkpoint's environment image (the docker runtime), so
 * that the cells run where the checkpoint's instances will restore them.
 */
export interface CaptureSandbox {
  /** `docker` sandboxes record the environment image; `process` ones run Berth's --python. */
  readonly kind: 'process' | 'docker';
  capture(request: CaptureRequest): Promise<CaptureResult>;
  /**
   * The Python version of an environment and the versions of the named
   * packages in it: an image under docker (its id joins the label), Berth's
   * --python under the process runtime (`environment` is ignored).
   */
  probe(environment: string, modules: string[]): Promise<EnvironmentFacts>;
  /** Whether the environment is there now, without making it (under the process runtime, always). */
  isPresent(environment: string): Promise<boolean>;
}

interface WorkerError {
  kind: string;
  cell_index: number | null;
  variable: string | null;
  type_name: string | null;
  error_name: string;
  error_message: string;
  traceback: string[];
}

/** A failure of capture in words a notebook user understands: which cell, which variable, what happened. */
export function describeCaptureError(e: WorkerError, timeoutMs: number, memoryMb: number): string {
  const cell = e.cell_index === null || e.cell_index === undefined ? 'a cell' : `cell ${e.cell_index}`;
  const tb = e.traceback?.length ? `\n${e.traceback.join('\n')}` : '';
  switch (e.kind) {
    case 'syntax':
      return `${cell} has a syntax error: ${e.error_message}${tb}`;
    case 'uncapturable':
      // The worker's message names the variable and its type already.
      return e.error_message;
    case 'timeout':
      return `${cell} ran longer than the capture time limit of ${Math.round(timeoutMs / 1000)}s`;
    case 'memory':
      return `${cell} went over the capture memory limit of ${memoryMb} MiB${e.error_message ? `: ${e.error_message}` : ''}`;
    default:
      return `${cell} raised ${e.error_name}: ${e.error_message}${tb}`;
  }
}

/** What the worker's result line said: the captured facts, or the failure in words. */
export type WorkerOutcome =
  | { ok: true; pythonVersion: string; variables: CapturedVariable[]; moduleVersions: Record<string, string> }
  | { ok: false; message: string };

/**
 * Reads the worker's one JSON result line (the last line of its stdout).
 * `ended` says how the worker ended, for the message when there is no line.
 */
export function parseWorkerOutput(stdout: string, stderr: string, ended: string, timeoutMs: number, memoryMb: number): WorkerOutcome {
  const line = stdout.trim().split('\n').pop() ?? '';
  let result: {
    ok: boolean;
    python_version?: string;
    variables?: { name: string; type_name: string; kind: CapturedVariableKind }[];
    module_versions?: Record<string, string>;
    error?: WorkerError;
  };
  try {
    result = JSON.parse(line);
  } catch {
    return { ok: false, message: `the capture process ended (${ended}) without a result: ${stderr.trim().split('\n').slice(-5).join(' | ')}` };
  }
  if (!result.ok) return { ok: false, message: describeCaptureError(result.error!, timeoutMs, memoryMb) };
  return {
    ok: true,
    pythonVersion: result.python_version ?? '',
    variables: (result.variables ?? []).map((v) => ({ name: v.name, typeName: v.type_name, kind: v.kind })),
    moduleVersions: result.module_versions ?? {},
  };
}

/**
 * The Python a probe runs (`python3 -c PROBE_SCRIPT name…`): prints one JSON
 * line with its version and, for each name, the version of the distribution
 * of that name, else of the importable module's `__version__` ("" when it has
 * none), or null when neither exists. Standard library only.
 */
export const PROBE_SCRIPT = `
import json, platform, sys
try:
    import importlib.metadata as md
except ImportError:
    md = None
import importlib.util
found = {}
for name in sys.argv[1:]:
    version = None
    if md is not None:
        try:
            version = md.version(name)
        except Exception:
            version = None
    if version is None:
        try:
            if importlib.util.find_spec(name) is not None:
                module = __import__(name)
                v = getattr(module, "__version__", "")
                version = v if isinstance(v, str) else str(v)
        except Exception:
            version = None
    found[name] = version
print(json.dumps({"python_version": platform.python_version(), "modules": found}))
`;

/** Reads a probe's output line; undefined when it is not one. */
export function parseProbeOutput(stdout: string): { pythonVersion: string; modules: Record<string, string | null> } | undefined {
  try {
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { python_version?: unknown; modules?: Record<string, string | null> };
    if (typeof r.python_version !== 'string') return undefined;
    return { pythonVersion: r.python_version, modules: r.modules ?? {} };
  } catch {
    return undefined;
  }
}
