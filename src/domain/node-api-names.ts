/** The names of a checkpoint node's or an alias's generated API. */
export interface NodeApiNames {
  /** e.g. `berth.nodes.team_a.price_model.v1`. */
  package: string;
  /** e.g. `PriceModelService`. */
  service: string;
  /** The `.proto` file's name, its directory matching the package: `berth/nodes/team_a/price_model/v1/api.proto`. */
  file: string;
}

/**
 * Words a package component may not be: the generated code of some
 * language would not compile (C++ namespaces, Java and Kotlin packages,
 * Python import paths take the components as they are; protoc renames
 * fields, not these). `linux`, `unix`, `major` and `minor` are C macros.
 */
const RESERVED: ReadonlySet<string> = new Set(
  (
    // C++
    'alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t class compl concept const consteval constexpr ' +
    'constinit const_cast continue co_await co_return co_yield decltype default delete do double dynamic_cast else enum explicit export extern false float ' +
    'for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public register ' +
    'reinterpret_cast requires return short signed sizeof static static_assert static_cast struct switch template this thread_local throw true try ' +
    'typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq linux unix major minor ' +
    // Java
    'abstract assert boolean byte extends final finally implements import instanceof interface native package strictfp super synchronized throws ' +
    'transient null var record yield ' +
    // Kotlin
    'as fun in is object typealias typeof val when ' +
    // Python
    'async await def del elif except from global lambda nonlocal pass raise with'
  ).split(' '),
);

/**
 * A DNS label as a lower_snake_case package component, one to one (two
 * labels never give the same component):
 * - each "-" becomes "_", but a run of n > 1 (lower_snake_case allows no
 *   "__") becomes a segment "h<n>" ("xn--p1ai" → `xn_h2_p1ai`); a label's own
 *   segment of that shape gets one more "h" ("a-h2" → `a_hh2`);
 * - a reserved word gets "_pb" after it ("default" → `default_pb`), and so
 *   does a word that is one followed by "_pb"s ("default-pb" → `default_pb_pb`).
 */
export function packageComponent(label: string): string {
  const segments = label.split(/(-+)/).map((part, i) => {
    if (i % 2 === 1) return part.length > 1 ? `h${part.length}` : '';
    return /^h+\d+$/.test(part) ? `h${part}` : part;
  });
  const name = segments.filter((s) => s !== '').join('_');
  const word = /^[0-9]/.test(name) ? `n${name}` : name;
  return RESERVED.has(word.replace(/(_pb)+$/, '')) ? `${word}_pb` : word;
}

/**
 * The names of a node's generated API, made of its folder's name (unique
 * server-wide) and its own name (unique in its folder), not of its id: a node
 * replaced by a new one of the same name and folder keeps its API, and stubs
 * keep working. Node "price-model" in folder "team-a" is
 * `berth.nodes.team_a.price_model.v1.PriceModelService`; the package is
 * lint-clean (lower_snake_case components, a version suffix), compiles in
 * every language protoc generates, and its file lies in the matching
 * directory. Names start with a letter; a leading digit would get an "n".
 */
export function nodeApiNames(folderName: string, nodeName: string): NodeApiNames {
  return apiNames('nodes', folderName, nodeName);
}

/**
 * The names of an alias's generated API: alias "prod" in folder "team-a" is
 * `berth.aliases.team_a.prod.v1.ProdService`, whichever node it points to.
 */
export function aliasApiNames(folderName: string, aliasName: string): NodeApiNames {
  return apiNames('aliases', folderName, aliasName);
}

function apiNames(kind: 'nodes' | 'aliases', folderName: string, name: string): NodeApiNames {
  const parts = ['berth', kind, packageComponent(folderName), packageComponent(name), 'v1'];
  const pascal = name
    .split('-')
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  return { package: parts.join('.'), service: `${/^[A-Z]/.test(pascal) ? pascal : `N${pascal}`}Service`, file: `${parts.join('/')}/api.proto` };
}
