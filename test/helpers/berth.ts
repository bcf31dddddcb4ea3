import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config';
import { startBerth, type Berth } from '../../src/main';
import { freshDatabase, postgresAvailable } from './postgres';
import { endProcessInstances } from './process-instances';

export type DatabaseKind = 'sqlite' | 'postgres';

/** A Berth on loopback with its own database, restartable on the same data. */
export interface TestBerth {
  readonly berth: Berth;
  readonly config: Config;
  readonly http: string;
  readonly grpc: string;
  /** Stops Berth (gracefully) and starts it again on the same database. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts Berth in this process on ephemeral loopback ports. For `postgres`
 * it returns undefined when PostgreSQL is absent and not required (the caller
 * skips). `logger` replaces the root logger (to read what Berth logs); by
 * default it writes to stdout at `config.logLevel`.
 */
/** The node API's data plane the tests run against: BERTH_TEST_DATA_PLANE, else Berth's default (`auto`: HAProxy when installed). */
export function dataPlaneUnderTest(): Config['dataPlane'] | undefined {
  const plane = process.env.BERTH_TEST_DATA_PLANE;
  if (plane === undefined || plane === '') return undefined;
  if (plane !== 'builtin' && plane !== 'haproxy' && plane !== 'auto') throw new Error(`BERTH_TEST_DATA_PLANE must be builtin, haproxy or auto, not ${plane}`);
  return plane;
}

export async function startTestBerth(kind: DatabaseKind, overrides: Partial<Config> = {}, logger?: pino.Logger): Promise<TestBerth | undefined> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'berth-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl = path.join(dataDir, 'berth.sqlite');
  if (kind === 'postgres') {
    if (!(await postgresAvailable())) return undefined;
    const db = await freshDatabase();
    databaseUrl = db.url;
    dropDb = db.drop;
  }
  const config: Config = {
    ...loadConfig([], {}),
    grpcPort: 0,
    httpPort: 0,
    nodeApiPort: 0,
    dataDir,
    databaseUrl,
    logLevel: process.env.BERTH_TEST_LOG_LEVEL ?? 'silent',
    runtime: 'process',
    // No registry is reachable from tests: a missing image fails at once.
    pullImages: false,
    shutdownGraceMs: 2000,
    // Access control is tested where it is the subject (test/e2e/access-*.test.ts).
    auth: 'none',
    // BERTH_TEST_DATA_PLANE=builtin or haproxy runs the same tests with that node-API data plane.
    ...(dataPlaneUnderTest() ? { dataPlane: dataPlaneUnderTest()! } : {}),
    ...overrides,
  };
  const log = logger ?? pino({ level: config.logLevel });
  let berth = await startBerth(config, log);
  const t: TestBerth = {
    get berth() {
      return berth;
    },
    config,
    get http() {
      return `http://127.0.0.1:${berth.httpPort}`;
    },
    get grpc() {
      return `127.0.0.1:${berth.grpcPort}`;
    },
    async restart() {
      await berth.stop();
      berth = await startBerth({ ...config, grpcPort: berth.grpcPort, httpPort: berth.httpPort }, log);
    },
    async close() {
      await berth.stop();
      // Process instances outlive Berth by design (the next start adopts them); this one is done for good.
      endProcessInstances(dataDir);
      await dropDb?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Both databases for suites that must pass on each. */
export const DATABASES: DatabaseKind[] = ['sqlite', 'postgres'];
