import { loadConfig, usage } from '../config';
import { applyHeapGrowth } from './heap-growth';
import { buildProgram, runProgram } from './program';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== 'serve') {
    // Every other command is the client's (src/cli/program.ts).
    const commands = buildProgram().commands;
    const known = commands.flatMap((c) => [c.name(), ...c.aliases()]);
    if (command && !command.startsWith('-') && command !== 'help' && !known.includes(command)) {
      const names = commands.map((c) => c.name()).join(', ');
      process.stderr.write(`berth: unknown command ${JSON.stringify(command)}; the commands: ${names} (berth --help)\n`);
      process.exitCode = 2;
      return;
    }
    await runProgram(argv.length === 0 ? ['--help'] : argv);
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`berth serve: run the control plane, the REST gateway and the node API\n\n${usage()}`);
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
  applyHeapGrowth(config.heapGrowthPercent, config.heapGrowthMinMb);
  // Loaded only to serve: the client commands start without the server's modules.
  const { createLogger } = await import('../logger');
  const { startBerth } = await import('../main');
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
