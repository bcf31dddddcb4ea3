import { quoted, type Violations } from './validation';

/**
 * Names of checkpoint variables. Each is a Python global of the served cell
 * and a field of the node's generated protobuf messages, so it must be legal
 * for both and lint-clean: lower_snake_case (what `buf lint` asks of a field,
 * and a Python identifier), not a Python keyword, and no two variables of one
 * message may share a JSON name (protoc refuses `a_b` next to `aB`, and
 * `a_1` next to `a1`). Keywords of other languages stay usable: protoc's
 * generators rename fields that collide with them.
 */
export const VARIABLE_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Python's `keyword.kwlist` (the lowercase ones; True, False and None are not lower_snake_case anyway). */
export const PYTHON_KEYWORDS: ReadonlySet<string> = new Set([
  'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except',
  'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass',
  'raise', 'return', 'try', 'while', 'with', 'yield',
]);

/** Why a variable name is refused, or undefined when it is valid. */
export function variableNameProblem(name: string): string | undefined {
  if (name === '') return 'is required';
  if (!VARIABLE_NAME.test(name))
    return `${quoted(name)} is not a lower_snake_case name (a-z, 0-9 and single "_" between them, starting with a letter, e.g. "price_2")`;
  if (PYTHON_KEYWORDS.has(name)) return `${quoted(name)} is a Python keyword; it cannot be a global of the served cell`;
  return undefined;
}

/** The JSON name protoc gives a field (lowerCamelCase: each "_" dropped, the character after it upper-cased). */
export function jsonNameOf(name: string): string {
  return name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
}

/**
 * Checks the names of one message's variables (the inputs, or the outputs):
 * each valid, none twice, no two with the same JSON name. An undefined name
 * (already refused for another reason) is skipped.
 */
export function checkVariableNames(v: Violations, field: string, names: Array<string | undefined>): void {
  const seen = new Map<string, number>();
  const json = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === undefined) return;
    const at = `${field}[${i}].name`;
    const problem = variableNameProblem(name);
    if (problem) return v.add(at, problem);
    if (seen.has(name)) return v.add(at, `${quoted(name)} is declared twice`);
    seen.set(name, i);
    const j = jsonNameOf(name);
    const other = json.get(j);
    if (other !== undefined)
      return v.add(at, `${quoted(name)} has the JSON name ${quoted(j)}, as ${field}[${other}] ${quoted(names[other]!)} has; rename one`);
    json.set(j, i);
  });
}
