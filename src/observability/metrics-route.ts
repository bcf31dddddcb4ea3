import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from '@bufbuild/protobuf';
import { PermissionDeniedError } from '../domain/errors';
import { sendError, sendMethodNotAllowed, type ExtraHandler } from '../api/rest/http-server';
import type { BerthMetrics } from './berth-metrics';
import type { TelemetryScraper } from './telemetry-scraper';

/** The content type of the Prometheus text format, version 0.0.4. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

const FOLDER_PATH = /^\/metrics\/folders\/([a-z0-9]{1,64})$/;

export interface MetricsRouteDeps {
  metrics: BerthMetrics;
  telemetry: TelemetryScraper;
  registry: Registry;
  /**
   * Throws unless this `authorization` may read Berth's own metrics (under
   * `--metrics-auth none`, anyone may: a scraper on the private port needs
   * no key, as for /healthz; the series hold ids and counts, no payloads).
   */
  authorizeMetrics(authorization: string | undefined): Promise<void>;
  /** Throws unless this `authorization` may list the folder's nodes: the instances' metrics are the folder's own data. */
  authorizeFolder(authorization: string | undefined, folderId: string): Promise<void>;
}

function sendText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': PROMETHEUS_TEXT, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * `GET /metrics`: Berth's own metrics. `GET /metrics/folders/{folder_id}`:
 * the custom metrics the Docker instances of that folder publish on their
 * `telemetry` endpoint, scraped now, with `node_id` and `instance_id` added.
 * They are kept apart so that a family an image exports (its own
 * `process_cpu_seconds_total`, say) never clashes with Berth's, and so that
 * each folder's data goes only to who may read it.
 */
export function metricsRoute(deps: MetricsRouteDeps): ExtraHandler {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const folder = FOLDER_PATH.exec(url.pathname)?.[1];
    if (url.pathname !== '/metrics' && folder === undefined) return false;
    if (req.method !== 'GET') {
      sendMethodNotAllowed(res, req.method, url.pathname, ['GET']);
      return true;
    }
    try {
      if (folder === undefined) {
        await deps.authorizeMetrics(req.headers.authorization);
        sendText(res, await deps.metrics.text());
      } else {
        await deps.authorizeFolder(req.headers.authorization, folder);
        sendText(res, await deps.telemetry.folderText(folder));
      }
    } catch (err) {
      sendError(req, res, deps.registry, err);
    }
    return true;
  };
}

/** A check for `--metrics-auth keys`: the caller is a server admin. */
export function serverAdminOnly(caller: { principal: { serverAdmin: boolean; name: string } }): void {
  if (!caller.principal.serverAdmin) throw new PermissionDeniedError(`${caller.principal.name} may not read /metrics: that needs a server admin's key (--metrics-auth keys)`);
}
