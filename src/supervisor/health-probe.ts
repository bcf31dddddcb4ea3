import http from 'node:http';
import path from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface ProbeTarget {
  type: 'http' | 'grpc';
  host: string;
  port: number;
  /** HTTP path, for HTTP checks. */
  path: string;
  /** grpc.health.v1 service name, for gRPC checks. */
  service: string;
  timeoutMs: number;
  /** Sent with HTTP probes (a checkpoint worker's token). */
  headers?: Record<string, string>;
}

export interface ProbeResult {
  passed: boolean;
  reason: string;
}

function httpProbe(t: ProbeTarget): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: t.host, port: t.port, path: t.path, timeout: t.timeoutMs, agent: false, headers: { ...t.headers, 'user-agent': 'berth-health-check' } }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 300 ? { passed: true, reason: `HTTP ${code} from ${t.path}` } : { passed: false, reason: `HTTP ${code} from ${t.path}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${t.path} within ${t.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ passed: false, reason: err.code === 'ECONNREFUSED' ? `connection refused on port ${t.port}` : err.message }));
  });
}

let HealthClient: ServiceClientConstructor | undefined;

function healthClientConstructor(): ServiceClientConstructor {
  if (!HealthClient) {
    const proto = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
    const pkg = loadPackageDefinition(loadSync(proto, { keepCase: true, enums: String })) as any;
    HealthClient = pkg.grpc.health.v1.Health as ServiceClientConstructor;
  }
  return HealthClient;
}

/** gRPC health clients per address, so probes reuse one HTTP/2 connection. */
const grpcClients = new Map<string, Client>();

export function closeGrpcProbe(host: string, port: number): void {
  const key = `${host}:${port}`;
  grpcClients.get(key)?.close();
  grpcClients.delete(key);
}

function grpcProbe(t: ProbeTarget): Promise<ProbeResult> {
  const key = `${t.host}:${t.port}`;
  let client = grpcClients.get(key);
  if (!client) {
    const Ctor = healthClientConstructor();
    client = new Ctor(key, credentials.createInsecure(), { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 });
    grpcClients.set(key, client);
  }
  return new Promise((resolve) => {
    (client as any).Check({ service: t.service }, { deadline: Date.now() + t.timeoutMs }, (err: any, res: any) => {
      if (err) resolve({ passed: false, reason: `grpc.health.v1 Check failed: ${err.details || err.message}` });
      else resolve(res.status === 'SERVING' ? { passed: true, reason: 'SERVING' } : { passed: false, reason: `grpc.health.v1 says ${res.status}` });
    });
  });
}

/** One health probe of an instance, as the node's health check defines it. */
export function probe(t: ProbeTarget): Promise<ProbeResult> {
  return t.type === 'http' ? httpProbe(t) : grpcProbe(t);
}
