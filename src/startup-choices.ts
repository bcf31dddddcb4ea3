import path from 'node:path';
import Dockerode from 'dockerode';
import { assertHostCodeAllowed, type Config } from './config';
import type { Logger } from './logger';
import { ScriptSystemImageBuilder } from './runtime/docker/system-image';
import { DockerRuntime } from './runtime/docker/docker-runtime';
import { ProcessRuntime } from './runtime/process/process-runtime';
import type { Runtime } from './runtime/runtime';
import { dialectOf } from './store/orm';
import { FileLeaderLock, PostgresLeaderLock, type LeaderLock } from './supervisor/leader';

/*
 * The choices startBerth makes from the config alone: which runtime runs the
 * instances and how the Berth processes of one database elect their leader.
 */

/** `docker` when an engine answers (or is required), else the process runtime. */
export async function selectRuntime(config: Config, log: Logger): Promise<Runtime> {
  const processes = () =>
    new ProcessRuntime({
      stateDir: path.join(config.dataDir, 'processes'),
      logDir: path.join(config.dataDir, 'logs'),
      runId: config.clusterId,
      logger: log.child({ component: 'processes' }),
    });
  if (config.runtime === 'process') {
    assertHostCodeAllowed(config, '--runtime process');
    return processes();
  }
  const docker = new Dockerode();
  try {
    await Promise.race([docker.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3000))]);
  } catch (err) {
    if (config.runtime === 'docker') throw new Error(`--runtime docker, but the Docker engine does not answer: ${(err as Error).message}`);
    assertHostCodeAllowed(config, `no Docker engine answers (${(err as Error).message}), so --runtime auto would run the process runtime`);
    log.warn({ err: (err as Error).message }, 'no Docker engine answers: running the process runtime; Docker nodes will fail');
    return processes();
  }
  return new DockerRuntime({
    docker,
    runId: config.clusterId,
    pullMissing: config.pullImages,
    nodeNetworkPool: config.nodeNetworkPool,
    systemImage: { image: config.systemImage, builder: new ScriptSystemImageBuilder() },
    logger: log.child({ component: 'docker' }),
  });
}

export function leaderLock(config: Config, log: Logger): LeaderLock {
  return dialectOf(config.databaseUrl) === 'postgresql'
    ? new PostgresLeaderLock(config.databaseUrl, log)
    : new FileLeaderLock(`${config.databaseUrl.replace(/^file:/, '')}.supervisor.lock`);
}
