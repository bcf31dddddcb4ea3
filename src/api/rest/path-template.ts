/**
 * google.api.http path templates: literal segments, `{field}` / `{field=*}`
 * (one segment), `{field=**}` (the rest) and a trailing `:verb`.
 */
export interface PathTemplate {
  source: string;
  regex: RegExp;
  /** Field paths of the variables, in order of their capture groups. */
  variables: string[];
  /** Literal segments count; more literals make a route more specific. */
  literals: number;
  /** The custom verb after the last `:` (`execute`), or empty. */
  verb: string;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileTemplate(source: string): PathTemplate {
  if (!source.startsWith('/')) throw new Error(`path template ${source} must start with "/"`);
  let path = source;
  let verb = '';
  const lastSlash = path.lastIndexOf('/');
  const colon = path.indexOf(':', Math.max(lastSlash, path.lastIndexOf('}')));
  if (colon > lastSlash && !path.slice(colon).includes('}')) {
    verb = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  const variables: string[] = [];
  let literals = 0;
  const parts = path
    .slice(1)
    .split('/')
    .map((segment) => {
      const m = /^\{([a-zA-Z0-9_.]+)(?:=(\*\*|\*))?\}$/.exec(segment);
      if (m) {
        variables.push(m[1]!);
        return m[2] === '**' ? '(.+?)' : '([^/]+?)';
      }
      if (segment.includes('{')) throw new Error(`unsupported path template segment ${segment} in ${source}`);
      literals++;
      return escape(segment);
    });
  const regex = new RegExp(`^/${parts.join('/')}${verb ? `:${escape(verb)}` : ''}$`);
  return { source, regex, variables, literals: literals + (verb ? 1 : 0), verb };
}

/** Matches a request path (without query) and returns the decoded variables. */
export function matchTemplate(t: PathTemplate, path: string): Record<string, string> | undefined {
  const m = t.regex.exec(path);
  if (!m) return undefined;
  const vars: Record<string, string> = {};
  for (const [i, name] of t.variables.entries()) {
    const raw = m[i + 1]!;
    try {
      vars[name] = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (vars[name]!.includes(':') && t.source.includes(`{${name}}:`)) return undefined;
  }
  return vars;
}
