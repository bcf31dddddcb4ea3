import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Dockerode from 'dockerode';
import {
  PROBE_SCRIPT,
  parseProbeOutput,
  parseWorkerOutput,
  type CaptureRequest,
  type CaptureResult,
  type CaptureSandbox,
} from '../../checkpoint/capture-sandbox';
import { withCellOutput } from '../../checkpoint/capture-output';
import type { EnvironmentFacts } from '../../domain/environment';
import { ImageUnavailableError, RuntimeUnavailableError } from '../runtime';
import { engineMessageOf, isNotFound, translateEngineError } from './errors';
import { LABELS } from './labels';

/** Marks capture and probe containers (value: the checkpoint id, or `probe`). */
export const CAPTURE_LABEL = 'berth.capture';
/** After the worker's own time limit, how long before Berth kills the container. */
const BACKSTOP_GRACE_MS = 10_000;
/** Memory the container may use beyond the worker's own address-space limit (the interpreter, tmpfs): the cgroup is the backstop. */
const CONTAINER_MEMORY_HEADROOM_MB = 256;
/** Processes a capture may run at once (threads count). */
const PIDS_LIMIT = 512;
/** How long a probe may take, and its memory. */
const PROBE_TIMEOUT_MS = 60_000;
const PROBE_MEMORY_MB = 512;
/** The end of the container's log that is read: the result line is the last line of stdout. */
const LOG_TAIL_LINES = 200;
/** The unprivileged user captures and probes run as (the system image's `berth`). */
const SANDBOX_USER = '10001:10001';
const SANDBOX_ENV = ['HOME=/tmp', 'LANG=C.UTF-8', 'PYTHONDONTWRITEBYTECODE=1', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

export interface CaptureContainerOptions {
  docker: Dockerode;
  /** Labels every container, as the docker runtime does, so that a test run removes only its own. */
  runId?: string;
  /** Makes sure an image is present (the docker runtime's ensureImage: pulls, or builds the system image). */
  ensureImage(image: string, onProgress?: (line: string) => void): Promise<void>;
  /** Where the private directories bind-mounted into capture containers are made. */
  workDir: string;
  /** The worker script on this host. */
  workerPath: string;
}

/** The stdout and stderr of a stopped container, from the engine's multiplexed log stream. */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    const kind = buf[at];
    const size = buf.readUInt32BE(at + 4);
    const chunk = buf.subarray(at + 8, at + 8 + size);
    (kind === 2 ? err : out).push(chunk);
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/**
 * Runs captures (and environment probes) in short-lived containers of the
 * checkpoint's environment image, the image its instances restore it in:
 * no network, an unprivileged user, every capability dropped,
 * no-new-privileges, a read-only root with a private /tmp, a PID limit, the
 * capture's memory limit on the cgroup (the worker keeps its own limits and
 * reports which cell ran over; the cgroup and a kill after the time limit are
 * the backstop). Cells go in and the blob comes out through a private
 * directory bind-mounted into the container, as instances get their blob: no
 * copy through the engine's archive API and no tar handling, and the blob
 * lands on disk as the worker writes it. Every container is removed
 * afterwards, also on cancel.
 */
export class DockerCaptureSandbox implements CaptureSandbox {
  readonly kind = 'docker' as const;
  private readonly probes = new Map<string, EnvironmentFacts>();

  constructor(private readonly o: CaptureContainerOptions) {}

  private labels(value: string): Record<string, string> {
    return { [CAPTURE_LABEL]: value, ...(this.o.runId === undefined ? {} : { [LABELS.runId]: this.o.runId }) };
  }

  private hostConfig(memoryMb: number, binds: string[]): Dockerode.HostConfig {
    return {
      NetworkMode: 'none',
      Memory: memoryMb * 1024 * 1024,
      MemorySwap: memoryMb * 1024 * 1024,
      PidsLimit: PIDS_LIMIT,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,nosuid,nodev,exec,size=1g' },
      Binds: binds,
    };
  }

  /** The image's id (`sha256:…`), after making sure it is present; throws with the reason otherwise. */
  private async imageId(image: string, onProgress?: (line: string) => void): Promise<string> {
    await this.o.ensureImage(image, onProgress);
    return (await this.o.docker.getImage(image).inspect()).Id;
  }

  /** Runs a created container to its end (or kills it when `stop` fires) and returns its output; removes it always. */
  private async runToEnd(
    container: Dockerode.Container,
    limitMs: number,
    signal?: AbortSignal,
  ): Promise<{ stopped?: 'timeout' | 'cancelled'; exitCode: number; stdout: string; stderr: string }> {
    let stopped: 'timeout' | 'cancelled' | undefined;
    const kill = (why: 'timeout' | 'cancelled') => {
      stopped ??= why;
      void container.kill().catch(() => undefined);
    };
    const backstop = setTimeout(() => kill('timeout'), limitMs);
    const onAbort = () => kill('cancelled');
    signal?.addEventListener('abort', onAbort);
    try {
      if (signal?.aborted) return { stopped: 'cancelled', exitCode: -1, stdout: '', stderr: '' };
      // Waiting for the next exit, set up before the start: a created container is "not running" already.
      const waited = container.wait({ condition: 'next-exit' });
      waited.catch(() => undefined);
      await container.start();
      if (signal?.aborted) onAbort();
      const { StatusCode } = (await waited) as { StatusCode: number };
      const logs = await container.logs({ stdout: true, stderr: true, follow: false, tail: LOG_TAIL_LINES });
      return { ...(stopped ? { stopped } : {}), exitCode: StatusCode, ...demux(logs) };
    } finally {
      clearTimeout(backstop);
      signal?.removeEventListener('abort', onAbort);
      await container.remove({ force: true }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
  }

  async capture(r: CaptureRequest): Promise<CaptureResult> {
    let imageId: string;
    try {
      imageId = await this.imageId(r.environmentImage, r.onProgress);
    } catch (err) {
      if (err instanceof ImageUnavailableError) return { ok: false, message: err.message };
      return { ok: false, message: `environment image ${r.environmentImage} is not available: ${engineMessageOf(err)}` };
    }
    await mkdir(this.o.workDir, { recursive: true });
    const dir = await mkdtemp(path.join(this.o.workDir, 'capture-'));
    const cleanup = () => rm(dir, { recursive: true, force: true });
    try {
      const inDir = path.join(dir, 'in');
      const outDir = path.join(dir, 'out');
      await mkdir(inDir);
      await mkdir(outDir);
      await writeFile(path.join(inDir, 'cells.json'), JSON.stringify({ cells: r.cells }));
      // The container runs as 10001: it reads the cells and writes only the out directory.
      await chmod(dir, 0o755);
      await chmod(inDir, 0o755);
      await chmod(path.join(inDir, 'cells.json'), 0o644);
      await chmod(outDir, 0o777);
      const container = await this.o.docker.createContainer({
        name: `berth-capture-${r.checkpointId}`,
        Image: imageId,
        Entrypoint: [],
        Cmd: [
          'python3', '-I', '/berth/berth_worker.py', 'capture',
          '--cells', '/berth/in/cells.json', '--served', String(r.served), '--out', '/berth/out/checkpoint.blob',
          '--timeout', String(Math.max(1, Math.ceil(r.timeoutMs / 1000))), '--memory-mb', String(r.memoryMb),
        ],
        User: SANDBOX_USER,
        Env: SANDBOX_ENV,
        WorkingDir: '/tmp',
        Labels: this.labels(r.checkpointId),
        NetworkDisabled: true,
        HostConfig: this.hostConfig(r.memoryMb + CONTAINER_MEMORY_HEADROOM_MB, [
          `${this.o.workerPath}:/berth/berth_worker.py:ro`,
          `${inDir}:/berth/in:ro`,
          `${outDir}:/berth/out:rw`,
        ]),
      });
      const run = await this.runToEnd(container, r.timeoutMs + BACKSTOP_GRACE_MS, r.signal);
      const fail = async (message: string): Promise<CaptureResult> => {
        await cleanup();
        return { ok: false, message };
      };
      if (run.stopped === 'cancelled' || r.signal?.aborted) return fail('the capture was cancelled');
      if (run.stopped === 'timeout') return fail(`the capture ran longer than its time limit of ${Math.round(r.timeoutMs / 1000)}s and was stopped`);
      const ended = run.exitCode === 137 ? `killed, likely over the memory limit of ${r.memoryMb} MiB` : `exit code ${run.exitCode}`;
      const outcome = parseWorkerOutput(run.stdout, run.stderr, ended, r.timeoutMs, r.memoryMb);
      if (!outcome.ok) return fail(withCellOutput(outcome.message, run.stderr));
      const blobFile = path.join(outDir, 'checkpoint.blob');
      await stat(blobFile);
      return { ...outcome, environmentImageId: imageId, blobFile, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  async isPresent(image: string): Promise<boolean> {
    try {
      await this.o.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw translateEngineError(err, `inspect image ${image}`);
    }
  }

  async probe(image: string, modules: string[]): Promise<EnvironmentFacts> {
    let imageId: string;
    try {
      imageId = await this.imageId(image);
    } catch (err) {
      // The engine being down is not the image's fault.
      if (err instanceof RuntimeUnavailableError) throw err;
      return { label: `image ${image}`, pythonVersion: '', modules: {}, problem: `is not available: ${engineMessageOf(err)}` };
    }
    const label = `image ${image} (${imageId})`;
    const names = [...new Set(modules)].sort();
    const key = `${imageId}|${names.join(',')}`;
    const cached = this.probes.get(key);
    if (cached) return { ...cached, label };
    let facts: EnvironmentFacts;
    try {
      const container = await this.o.docker.createContainer({
        Image: imageId,
        Entrypoint: [],
        Cmd: ['python3', '-I', '-c', PROBE_SCRIPT, ...names],
        User: SANDBOX_USER,
        Env: SANDBOX_ENV,
        WorkingDir: '/tmp',
        Labels: this.labels('probe'),
        NetworkDisabled: true,
        HostConfig: this.hostConfig(PROBE_MEMORY_MB, []),
      });
      const run = await this.runToEnd(container, PROBE_TIMEOUT_MS);
      const found = parseProbeOutput(run.stdout);
      if (found) facts = { label, ...found };
      else if (run.stopped) facts = { label, pythonVersion: '', modules: {}, problem: `did not answer a probe of its python3 within ${PROBE_TIMEOUT_MS / 1000}s` };
      else facts = { label, pythonVersion: '', modules: {}, problem: `cannot run python3 (exit code ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')})` };
    } catch (err) {
      const message = engineMessageOf(err);
      // The engine refuses to start a command the image does not have.
      if (/executable file not found|no such file or directory/i.test(message)) facts = { label, pythonVersion: '', modules: {}, problem: 'has no python3' };
      else throw translateEngineError(err, `probe image ${image}`);
    }
    if (!facts.problem || facts.problem === 'has no python3') this.probes.set(key, facts);
    return facts;
  }

  /** Removes capture and probe containers left by a Berth that stopped mid-capture, older than `olderThanMs`. */
  async removeLeftovers(olderThanMs: number, now = Date.now()): Promise<number> {
    const filters = { label: [CAPTURE_LABEL, ...(this.o.runId === undefined ? [] : [`${LABELS.runId}=${this.o.runId}`])] };
    const found = await this.o.docker.listContainers({ all: true, filters: JSON.stringify(filters) });
    let removed = 0;
    for (const c of found) {
      if (now - c.Created * 1000 < olderThanMs) continue;
      await this.o.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      removed++;
    }
    return removed;
  }
}
