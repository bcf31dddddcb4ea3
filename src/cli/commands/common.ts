import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { describeError, UsageError } from '../cli-errors';
import { outputFormat, type OutputFormat } from '../output';
import { Session, type GlobalOptions } from '../session';

/** The options of a command with the program's (`--context`, `--folder`, `-o`) merged in. */
export type Options = GlobalOptions & Record<string, any>;

/**
 * Runs a command's body with a session, and turns whatever it throws into a
 * message on stderr and the exit status (EXIT). Every command goes through here.
 */
export function withSession(body: (session: Session, opts: Options, args: string[]) => Promise<void>) {
  return async function (this: Command, ...params: unknown[]): Promise<void> {
    const command = params[params.length - 1] as Command;
    const opts = command.optsWithGlobals() as Options;
    const args = command.args;
    let session: Session | undefined;
    try {
      session = new Session(opts);
      await body(session, opts, args);
    } catch (err) {
      const { code, message } = describeError(err, session?.context.server);
      process.stderr.write(`berth: ${message}\n`);
      process.exitCode = code;
    } finally {
      session?.close();
    }
  };
}

export function formatOf(opts: Options, fallback: OutputFormat = 'table'): OutputFormat {
  return outputFormat(opts.output, fallback);
}

/** Collects a repeatable option's values: `.option('-i, --input <k=v>', '…', collect, [])`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    // Commander reports this as a usage error (exit 2), naming the option.
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, not ${JSON.stringify(value)}`);
    return n;
  };
}

/** `key=value` → [key, value]. */
export function keyValue(text: string, what = 'key=value'): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`expected ${what}, got ${JSON.stringify(text)}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** `@file` reads the file (`@-`: stdin); anything else is the text itself. */
export function textOrFile(value: string): string {
  if (!value.startsWith('@')) return value;
  const file = value.slice(1);
  return readFileSync(file === '-' ? 0 : file, 'utf8');
}

/** An example block for `--help`. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
