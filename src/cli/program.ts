import { Command, CommanderError, Option } from 'commander';
import { usage as serveUsage } from '../config';
import { describeError, EXIT } from './cli-errors';
import { registerAliases } from './commands/aliases';
import { registerApply } from './commands/apply';
import { registerCall } from './commands/call';
import { registerCheckpoints } from './commands/checkpoints';
import { registerCompletion } from './commands/completion';
import { examples } from './commands/common';
import { registerLogin } from './commands/login';
import { registerLogs } from './commands/logs';
import { registerNodes } from './commands/nodes';
import { registerFolders, registerKeys, registerOperations, registerSecrets } from './commands/resources';
import { OUTPUT_FORMATS } from './output';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION = (require('../../../package.json') as { version: string }).version;

/**
 * The `berth` command line: every command but `serve` (which berth.ts runs
 * as before) speaks gRPC to a Berth through the TypeScript client.
 */
export function buildProgram(): Command {
  const program = new Command('berth')
    .description('Berth turns notebook checkpoints and Docker images into services; this command drives one')
    .version(VERSION, '-v, --version', 'print the version')
    .addOption(new Option('--context <name>', 'saved context to use (default: the current one; env BERTH_CONTEXT)'))
    .addOption(new Option('--folder <folder>', "folder (name or id) to act in (default: the context's, else \"default\"; env BERTH_FOLDER)"))
    .addOption(new Option('-o, --output <format>', 'output: table, json, yaml or name').choices(OUTPUT_FORMATS))
    .showHelpAfterError('(berth --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  // Listed first and run by berth.ts, which keeps the server's own flag parsing.
  program
    .command('serve')
    .description('run the control plane, the REST gateway and the node API (berth serve --help: its flags)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments();
  registerLogin(program);
  registerApply(program);
  registerCall(program);
  registerNodes(program);
  registerAliases(program);
  registerCheckpoints(program);
  registerFolders(program);
  registerSecrets(program);
  registerKeys(program);
  registerOperations(program);
  registerLogs(program);
  registerCompletion(program);

  program.addHelpText(
    'after',
    `${examples(
      'berth login --server 127.0.0.1:50051 --key-file .berth/admin.key',
      'berth apply -f berth.yaml',
      'berth nodes list',
      'berth call price-model -i x=3',
      'berth logs web -f',
      'berth alias set prod price-v1=90 price-v2=10',
    )}
Exit codes: 0 ok, 1 a failed operation or call, 2 usage, 3 Berth unreachable or the key refused.

berth serve options:
${serveUsage()}`,
  );
  for (const command of allCommands(program)) command.exitOverride();
  return program;
}

export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/** Runs a command line (without `node` and the script), leaving the exit status in `process.exitCode`. */
export async function runProgram(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      const fine = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exitCode = fine ? EXIT.ok : EXIT.usage;
      return;
    }
    // What a command without a session throws (withSession handles the others).
    const { code, message } = describeError(err, undefined);
    process.stderr.write(`berth: ${message}\n`);
    process.exitCode = code;
  }
}
