/**
 * Reading the Prometheus text exposition format (version 0.0.4) that Docker
 * instances publish on their `telemetry` endpoint, and writing it back with
 * labels added. No npm package for this is both small and kept up, so the
 * subset Berth needs is here: HELP and TYPE lines, and samples with their
 * labels, value and timestamp. A line that does not parse is dropped, never
 * passed on, so that what Berth serves always parses.
 */

/** One sample line, its label values kept in their escaped form. */
export interface Sample {
  name: string;
  labels: Array<[name: string, escapedValue: string]>;
  value: string;
  timestamp?: string;
}

/** The samples of one metric family, as an exposition groups them. */
export interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const TIMESTAMP = /^-?\d+$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
/** Sample names a family's own name may carry with these endings (histograms, summaries, OpenMetrics counters). */
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

/** Parses one sample line; undefined when it is not valid. */
export function parseSample(line: string): Sample | undefined {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) return undefined;
  let i = name.length;
  const labels: Sample['labels'] = [];
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelName = LABEL_NAME.exec(line.slice(i))?.[0];
      if (!labelName) return undefined;
      i += labelName.length;
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] !== '=') return undefined;
      i++;
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] !== '"') return undefined;
      const start = ++i;
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        if (c === '\\') {
          const next = line[i + 1];
          if (next !== '\\' && next !== '"' && next !== 'n') return undefined;
          i += 2;
        } else if (c === '"') break;
        else i++;
      }
      labels.push([labelName, line.slice(start, i)]);
      i++;
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') return undefined;
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || line[i] === undefined || !/[ \t]/.test(line[i]!)) return undefined;
  const [value, timestamp] = rest as [string, string | undefined];
  if (!VALUE.test(value) || (timestamp !== undefined && !TIMESTAMP.test(timestamp))) return undefined;
  return timestamp === undefined ? { name, labels, value } : { name, labels, value, timestamp };
}

function belongsTo(sample: string, family: string): boolean {
  return sample === family || SUFFIXES.some((s) => sample === family + s);
}

/**
 * The families of one exposition, in the order they appear. A sample outside
 * the family its TYPE or HELP line opened is a family of its own, untyped.
 */
export function parseExposition(text: string): Family[] {
  const families: Family[] = [];
  const byName = new Map<string, Family>();
  let current: Family | undefined;
  const open = (name: string): Family => {
    let f = byName.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) continue;
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string | undefined];
      if (kind === 'TYPE') {
        const type = (rest ?? '').trim();
        if (!TYPES.has(type)) continue;
        current = open(name);
        current.type = type;
      } else {
        current = open(name);
        // Kept escaped as it came; a lone backslash would not be valid, so such help is dropped.
        const help = rest ?? '';
        if (!/\\(?![\\n])/.test(help)) current.help = help;
      }
      continue;
    }
    const sample = parseSample(line);
    if (!sample) continue;
    const family = current && belongsTo(sample.name, current.name) ? current : open(sample.name);
    family.samples.push(sample);
  }
  return families.filter((f) => f.samples.length > 0);
}

/** Escapes a label value for the text format. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * The sample with these labels put first. A label of the same name that the
 * sample already had is kept as `exported_<name>`, as Prometheus keeps a
 * target's own labels when it adds its own.
 */
export function withLabels(sample: Sample, added: Record<string, string>): Sample {
  const names = new Set(Object.keys(added));
  const own = sample.labels.flatMap(([n, v]): Array<[string, string]> => (names.has(n) ? [[`exported_${n}`, v]] : [[n, v]]));
  const taken = new Set(Object.keys(added));
  const labels: Sample['labels'] = Object.entries(added).map(([n, v]) => [n, escapeLabelValue(v)]);
  for (const [n, v] of own) {
    if (taken.has(n)) continue;
    taken.add(n);
    labels.push([n, v]);
  }
  return { ...sample, labels };
}

/**
 * Families of several expositions as one: samples of families of the same
 * name and type go together; a family whose type differs from the one
 * already taken under its name is left out (an exposition may not hold two
 * families of one name). Returns the merged families and how many samples
 * were left out.
 */
export class FamilyMerger {
  private readonly families = new Map<string, Family>();
  dropped = 0;

  add(family: Family): void {
    const known = this.families.get(family.name);
    if (!known) {
      this.families.set(family.name, { ...family, samples: [...family.samples] });
      return;
    }
    if (known.type !== family.type) {
      this.dropped += family.samples.length;
      return;
    }
    known.help ??= family.help;
    known.samples.push(...family.samples);
  }

  has(name: string): boolean {
    return this.families.has(name);
  }

  text(): string {
    let out = '';
    for (const f of this.families.values()) out += formatFamily(f);
    return out;
  }
}

/** One family in the text format. */
export function formatFamily(f: Family): string {
  let out = '';
  if (f.help !== undefined) out += `# HELP ${f.name} ${f.help}\n`;
  out += `# TYPE ${f.name} ${f.type}\n`;
  for (const s of f.samples) {
    const labels = s.labels.length > 0 ? `{${s.labels.map(([n, v]) => `${n}="${v}"`).join(',')}}` : '';
    out += `${s.name}${labels} ${s.value}${s.timestamp !== undefined ? ` ${s.timestamp}` : ''}\n`;
  }
  return out;
}
