import { loadConfig, usage } from '../config';
import { createLogger } from '../logger';
import { startBerth } from '../main';
import { applyHeapGrowth } from './heap-growth';

const HELP = `berth — turns notebook checkpoints and Docker images into services

Commands:
  serve     run the control plane, the REST gateway and the node API

${usage()}`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(HELP);
    return;
  }
  if (command !== 'serve') {
    process.stderr.write(`berth: unknown command ${JSON.stringify(command)}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  let config;
  try {
    config = loadConfig(rest);
  } catch (err) {
    process.stderr.write(`berth serve: ${(err as Error).message}\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  applyHeapGrowth(config.heapGrowthPercent);
  const log = createLogger(config.logLevel);
  const berth = await startBerth(config, log).catch((err: unknown) => {
    log.fatal({ err }, 'berth failed to start');
    process.exit(1);
  });
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'signal received');
    berth.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

void main(process.argv.slice(2));
