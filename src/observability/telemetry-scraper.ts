import http from 'node:http';
import type { Runtime } from '../runtime/runtime';
import type { MetricsRepository } from '../store/metrics.repository';
import type { Logger } from '../logger';
import { FamilyMerger, formatFamily, parseExposition, withLabels, type Family } from './exposition';

export interface TelemetryScraperOptions {
  /** Longest wait for one instance's answer. */
  timeoutMs: number;
  /** Instances asked at once. */
  concurrency: number;
  /** Largest answer read from one instance; a longer one counts as a failed scrape. */
  maxBytes: number;
}

export const DEFAULT_TELEMETRY_SCRAPER_OPTIONS: TelemetryScraperOptions = { timeoutMs: 2000, concurrency: 8, maxBytes: 4 * 1024 * 1024 };

/** The family Berth adds: whether each instance answered this scrape. */
const UP = 'berth_telemetry_up';

/** One running instance's telemetry endpoint. */
interface Target {
  nodeId: string;
  instanceId: string;
  host: string;
  port: number;
  path: string;
}

/**
 * The custom metrics of a folder's Docker instances: each running instance
 * of a node that declares `telemetry` is asked for its Prometheus text when
 * `/metrics/folders/{id}` is scraped (with a short timeout, a few at once),
 * and its samples are served with `node_id` and `instance_id` added, beside
 * `berth_telemetry_up` saying which instances answered. Nothing is kept
 * between scrapes.
 */
export class TelemetryScraper {
  constructor(
    private readonly repo: MetricsRepository,
    private readonly runtime: Runtime,
    private readonly log: Logger,
    private readonly options: TelemetryScraperOptions = DEFAULT_TELEMETRY_SCRAPER_OPTIONS,
  ) {}

  async folderText(folderId: string): Promise<string> {
    const targets = await this.targets(folderId);
    const merger = new FamilyMerger();
    const up: Family = { name: UP, type: 'gauge', help: 'Whether the instance answered the last scrape of its telemetry endpoint (1) or not (0).', samples: [] };
    const results = await this.mapBounded(targets, async (t) => {
      try {
        return { t, families: parseExposition(await this.fetch(t)) };
      } catch (err) {
        this.log.debug({ err: (err as Error).message, nodeId: t.nodeId, instanceId: t.instanceId }, 'telemetry scrape failed');
        return { t, families: undefined };
      }
    });
    for (const { t, families } of results) {
      const added = { node_id: t.nodeId, instance_id: t.instanceId };
      up.samples.push(withLabels({ name: UP, labels: [], value: families ? '1' : '0' }, added));
      for (const f of families ?? []) {
        if (f.name === UP) continue;
        merger.add({ ...f, samples: f.samples.map((s) => withLabels(s, added)) });
      }
    }
    return merger.text() + (up.samples.length > 0 ? formatFamily(up) : '');
  }

  private async targets(folderId: string): Promise<Target[]> {
    const nodes = await this.repo.telemetryNodes(folderId);
    const perNode = await Promise.all(
      nodes.map(async ({ nodeId, telemetry }) => {
        const instances = await this.runtime.listInstances(nodeId).catch((err: unknown) => {
          this.log.warn({ err, nodeId }, 'cannot list instances for their telemetry');
          return [];
        });
        return instances.flatMap((o) => {
          const hostPort = o.ports[telemetry.port];
          return o.state === 'running' && hostPort ? [{ nodeId, instanceId: o.instanceId, host: hostPort.host, port: hostPort.port, path: telemetry.httpPath }] : [];
        });
      }),
    );
    return perNode.flat().sort((a, b) => (a.nodeId + a.instanceId).localeCompare(b.nodeId + b.instanceId));
  }

  /** Runs `work` on every item, at most `concurrency` at once, keeping the order. */
  private async mapBounded<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, items.length) }, worker));
    return out;
  }

  private fetch(t: Target): Promise<string> {
    const { timeoutMs, maxBytes } = this.options;
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: t.host, port: t.port, path: t.path, timeout: timeoutMs, headers: { accept: 'text/plain;version=0.0.4' }, signal: AbortSignal.timeout(timeoutMs) },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`answered ${res.statusCode}`));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBytes) {
              res.destroy();
              reject(new Error(`answered more than ${maxBytes} bytes`));
            } else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }
}
