import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type DescriptorProto, type FieldDescriptorProto, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

interface Entry {
  proto: FileDescriptorProto;
  /** The file as compiled: the bytes of the descriptor set, not a re-encoding. */
  bytes: Uint8Array;
}

interface Index {
  symbols: Map<string, string>;
  /** Extended message (full name, no leading dot) → field number → file. */
  extensions: Map<string, Map<number, string>>;
  services: { name: string; file: string }[];
}

/** The serialized files of a FileDescriptorSet, each exactly as it appears in the set. */
export function filesOfSet(set: Uint8Array): Uint8Array[] {
  const files: Uint8Array[] = [];
  const reader = new BinaryReader(set);
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (field === 1 && type === WireType.LengthDelimited) files.push(reader.bytes());
    else reader.skip(type);
  }
  return files;
}

/**
 * The files server reflection answers from: the compiled descriptor set (the
 * berth.v1 files with their imports, google/protobuf, google/api, grpc.health
 * and grpc.reflection under their own names, options and dependencies), plus
 * files added while the server runs (the typed services of nodes). Finds a
 * file by name, by a symbol it declares, or by an extension it declares, and
 * lists a file with all it depends on.
 */
export class ReflectionFiles {
  private readonly files = new Map<string, Entry>();
  /** The files added while running. */
  private readonly dynamic = new Set<string>();
  private index: Index | undefined;

  /**
   * @param set a serialized FileDescriptorSet
   * @param served the services of the set that the server serves (only these are listed)
   */
  constructor(
    set: Uint8Array,
    private readonly served: ReadonlySet<string>,
  ) {
    for (const bytes of filesOfSet(set)) {
      const proto = fromBinary(FileDescriptorProtoSchema, bytes);
      this.files.set(proto.name, { proto, bytes });
    }
  }

  /** Adds (or replaces) a file whose services are all served. */
  add(file: FileDescriptorProto): void {
    this.files.set(file.name, { proto: file, bytes: toBinary(FileDescriptorProtoSchema, file) });
    this.dynamic.add(file.name);
    this.index = undefined;
  }

  remove(name: string): void {
    if (!this.dynamic.delete(name)) return;
    this.files.delete(name);
    this.index = undefined;
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  /** The served services, by full name, with the file of each. */
  services(): { name: string; file: string }[] {
    return this.indexed().services;
  }

  /** The name of the file declaring a fully-qualified symbol (message, field, enum, value, service, method, extension). */
  fileOfSymbol(symbol: string): string | undefined {
    return this.indexed().symbols.get(symbol.replace(/^\./, ''));
  }

  fileOfExtension(extendee: string, number: number): string | undefined {
    return this.indexed().extensions.get(extendee.replace(/^\./, ''))?.get(number);
  }

  /** The field numbers of the extensions of a message; undefined when no file declares the message. */
  extensionNumbers(extendee: string): number[] | undefined {
    const name = extendee.replace(/^\./, '');
    const { symbols, extensions } = this.indexed();
    if (!symbols.has(name)) return undefined;
    return [...(extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The file, then every file it imports directly or not (each once), serialized. */
  withDependencies(name: string): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      const entry = this.files.get(n);
      if (!entry) return;
      out.push(entry.bytes);
      for (const dep of entry.proto.dependency) visit(dep);
    };
    visit(name);
    return out;
  }

  /** The names of the file and of every file it imports directly or not. */
  closureOf(name: string): string[] {
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      for (const dep of this.files.get(n)?.proto.dependency ?? []) visit(dep);
    };
    visit(name);
    return [...seen];
  }

  private indexed(): Index {
    if (this.index) return this.index;
    const index: Index = { symbols: new Map(), extensions: new Map(), services: [] };
    for (const [fileName, { proto }] of this.files) {
      const prefix = proto.package ? `${proto.package}.` : '';
      const add = (name: string) => index.symbols.set(name, fileName);
      const extension = (scope: string, ext: FieldDescriptorProto) => {
        add(`${scope}${ext.name}`);
        const extendee = ext.extendee.replace(/^\./, '');
        const numbers = index.extensions.get(extendee) ?? new Map<number, string>();
        numbers.set(ext.number, fileName);
        index.extensions.set(extendee, numbers);
      };
      const enums = (scope: string, list: { name: string; value: { name: string }[] }[]) => {
        for (const e of list) {
          add(`${scope}${e.name}`);
          // Enum values are scoped like their enum, not inside it.
          for (const v of e.value) add(`${scope}${v.name}`);
        }
      };
      const message = (scope: string, m: DescriptorProto) => {
        const name = `${scope}${m.name}`;
        add(name);
        for (const f of m.field) add(`${name}.${f.name}`);
        for (const o of m.oneofDecl) add(`${name}.${o.name}`);
        for (const nested of m.nestedType) message(`${name}.`, nested);
        enums(`${name}.`, m.enumType);
        for (const ext of m.extension) extension(`${name}.`, ext);
      };
      for (const m of proto.messageType) message(prefix, m);
      enums(prefix, proto.enumType);
      for (const ext of proto.extension) extension(prefix, ext);
      for (const s of proto.service) {
        const name = `${prefix}${s.name}`;
        add(name);
        for (const m of s.method) add(`${name}.${m.name}`);
        if (this.served.has(name) || this.dynamic.has(fileName)) index.services.push({ name, file: fileName });
      }
    }
    index.services.sort((a, b) => a.name.localeCompare(b.name));
    return (this.index = index);
  }
}
