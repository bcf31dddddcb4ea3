import Table from 'cli-table3';
import YAML from 'yaml';
import type { JsonValue } from '@bufbuild/protobuf';
import { UsageError } from './cli-errors';

export type OutputFormat = 'table' | 'json' | 'yaml' | 'name';
export const OUTPUT_FORMATS: OutputFormat[] = ['table', 'json', 'yaml', 'name'];

export function outputFormat(value: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  if (value === undefined) return fallback;
  if (!(OUTPUT_FORMATS as string[]).includes(value)) throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}, not ${JSON.stringify(value)}`);
  return value as OutputFormat;
}

/** A column of a table: its heading and how to show a resource in it. */
export type Column<T> = [heading: string, cell: (item: T) => string];

/** A table without borders, as kubectl prints one: plain text that `grep` and `awk` read. */
export function table(head: string[], rows: string[][]): string {
  const t = new Table({
    head,
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  t.push(...rows);
  return `${t.toString().split('\n').map((line) => line.trimEnd()).join('\n')}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printYaml(value: unknown): void {
  process.stdout.write(YAML.stringify(value));
}

/** Prints resources in the chosen form: a list as an array, one resource (`single`) as an object. */
export function printResources<T>(
  format: OutputFormat,
  items: T[],
  opts: { columns: Column<T>[]; json: (item: T) => JsonValue; name: (item: T) => string; single?: boolean },
): void {
  const asJson = () => (opts.single ? opts.json(items[0]!) : items.map(opts.json));
  switch (format) {
    case 'json':
      return printJson(asJson());
    case 'yaml':
      return printYaml(asJson());
    case 'name':
      for (const item of items) process.stdout.write(`${opts.name(item)}\n`);
      return;
    case 'table':
      if (items.length === 0 && !opts.single) {
        process.stderr.write('nothing found\n');
        return;
      }
      process.stdout.write(table(opts.columns.map(([h]) => h), items.map((item) => opts.columns.map(([, cell]) => cell(item)))));
  }
}

/** How long ago a time was, as `kubectl get` shows an age. */
export function age(time: Date | undefined, now = Date.now()): string {
  if (!time) return '';
  const s = Math.max(0, Math.round((now - time.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** `NODE_STATE_HEALTHY` → `healthy`. */
export function enumWord(name: string | undefined, prefix: string): string {
  if (!name) return '';
  return name.startsWith(prefix) ? name.slice(prefix.length).toLowerCase() : name.toLowerCase();
}
