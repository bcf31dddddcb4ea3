import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { VARIABLE_TYPES, type Variable } from '../../src/domain/node';
import { nodeApiNames } from '../../src/domain/node-api-names';
import { nodeProtoSource } from '../../src/domain/variables';
import { nodeFileDescriptor, type TypedNode } from '../../src/api/typed-json';

const ROOT = path.join(__dirname, '..', '..');
const BUF = path.join(ROOT, 'node_modules', '.bin', 'buf');
const PROTOC = '/usr/bin/protoc';
/** The languages protoc generates without plugins. */
const LANGUAGES = ['cpp', 'python', 'java', 'ruby', 'csharp'];
/** Go's messages and gRPC service come from plugins (Debian's protoc-gen-go and protoc-gen-go-grpc). */
const PROTOC_GEN_GO = '/usr/bin/protoc-gen-go';
const PROTOC_GEN_GO_GRPC = '/usr/bin/protoc-gen-go-grpc';

const work = mkdtempSync(path.join(tmpdir(), 'berth-node-proto-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A variable of every type, named after it (`int` → `v_int`, `list[int]` → `v_list_int`). */
const everyType = (prefix: string): Variable[] => VARIABLE_TYPES.map((type) => ({ name: `${prefix}_${type.replace(/\W+/g, '_').replace(/_$/, '')}`, type }));

function node(folderName: string, name: string, inputVariables: Variable[], outputVariables: Variable[]): TypedNode {
  return { id: 'nd0123456789abcdefghjkmnpq', name, folderId: 'fl0123456789abcdefghjkmnpq', folderName, source: { kind: 'checkpoint', checkpointId: 'ck01', inputVariables, outputVariables, environmentImage: '' } };
}

/** Writes each node's `.proto` where its file name says, under a fresh directory; returns the directory and the file names. */
function writeProtos(nodes: TypedNode[]): { dir: string; files: string[] } {
  const dir = mkdtempSync(path.join(work, 'src-'));
  const files = nodes.map((n) => {
    const file = nodeApiNames(n.folderName, n.name).file;
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), nodeProtoSource(n));
    return file;
  });
  return { dir, files };
}

function run(cmd: string, args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

/** `buf lint` with its standard rules (the category once named DEFAULT). */
function bufLint(dir: string): void {
  writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nlint:\n  use:\n    - STANDARD\n');
  const r = run(BUF, ['lint'], dir);
  assert.equal(r.status, 0, `buf lint:\n${r.output}`);
  assert.equal(r.output.trim(), '');
}

/** Compiles the files for every language; returns the directory of the Go output. */
function protocAll(dir: string, files: string[]): string {
  for (const lang of LANGUAGES) {
    const out = mkdtempSync(path.join(work, `${lang}-`));
    // C# writes files by their base name (every node's is Api.cs) unless told to lay them out by namespace.
    const options = lang === 'csharp' ? ['--csharp_opt=base_namespace='] : [];
    const r = run(PROTOC, ['-I', dir, '-I', '/usr/include', `--${lang}_out=${out}`, ...options, ...files], dir);
    assert.equal(r.status, 0, `protoc --${lang}_out:\n${r.output}`);
  }
  return protocGo(dir, files);
}

/**
 * Go: the messages and the gRPC service of every file, checked for the
 * node's service and messages. The .proto has no `go_package` (its import
 * path is the caller's choice, as for every other language), so each file
 * is given one with an `M` option: its own directory, which makes the Go
 * package `v1` and the output lie next to where the .proto would. The
 * struct.proto it imports carries its own go_package, Go's well-known
 * `structpb`.
 */
function protocGo(dir: string, files: string[]): string {
  const out = mkdtempSync(path.join(work, 'go-'));
  const importPaths = files.map((file) => `M${file}=${path.posix.dirname(file)}`);
  const r = run(
    PROTOC,
    [
      '-I', dir, '-I', '/usr/include',
      `--plugin=protoc-gen-go=${PROTOC_GEN_GO}`, `--plugin=protoc-gen-go-grpc=${PROTOC_GEN_GO_GRPC}`,
      `--go_out=${out}`, ...importPaths.map((m) => `--go_opt=${m}`),
      `--go-grpc_out=${out}`, ...importPaths.map((m) => `--go-grpc_opt=${m}`),
      ...files,
    ],
    dir,
  );
  assert.equal(r.status, 0, `protoc --go_out --go-grpc_out:\n${r.output}`);
  for (const file of files) {
    const proto = readFileSync(path.join(dir, file), 'utf8');
    const service = /^service (\w+) \{$/m.exec(proto)?.[1];
    assert.ok(service, `a service in ${file}`);
    const base = path.join(out, file.replace(/\.proto$/, ''));
    assert.ok(existsSync(`${base}.pb.go`) && existsSync(`${base}_grpc.pb.go`), `Go files of ${file}`);
    const messages = readFileSync(`${base}.pb.go`, 'utf8');
    assert.match(messages, /^package v1$/m);
    assert.match(messages, /^type ExecuteRequest struct \{$/m);
    assert.match(messages, /^type ExecuteResponse struct \{$/m);
    if (/google\.protobuf\.(Struct|Value|ListValue)\b/.test(proto)) {
      assert.match(messages, /^\tstructpb "google\.golang\.org\/protobuf\/types\/known\/structpb"$/m);
    }
    const grpc = readFileSync(`${base}_grpc.pb.go`, 'utf8');
    assert.match(grpc, /^package v1$/m);
    assert.match(grpc, new RegExp(`^type ${service}Client interface \\{$`, 'm'));
    assert.match(grpc, new RegExp(`^type ${service}Server interface \\{$`, 'm'));
    assert.match(grpc, /^\tExecute\(ctx context\.Context, in \*ExecuteRequest, opts \.\.\.grpc\.CallOption\) \(\*ExecuteResponse, error\)$/m);
  }
  return out;
}

const ALL = node('team-a', 'price-model-2', everyType('in'), everyType('out'));

describe('the .proto of a checkpoint node', () => {
  it('passes buf lint (STANDARD, formerly DEFAULT, rules) and compiles for C++, Python, Java, Ruby, C# and Go with every variable type', () => {
    const { dir, files } = writeProtos([ALL]);
    assert.deepEqual(files, ['berth/nodes/team_a/price_model_2/v1/api.proto']);
    bufLint(dir);
    const go = protocAll(dir, files);
    // dict, list and the like are google.protobuf.Struct and friends: Go's structpb, not a package of the node's own.
    const messages = readFileSync(path.join(go, 'berth/nodes/team_a/price_model_2/v1/api.pb.go'), 'utf8');
    assert.match(messages, /\*structpb\.Struct\b/);
    assert.match(messages, /^\tstructpb "google\.golang\.org\/protobuf\/types\/known\/structpb"$/m);
  });

  it('describes the same messages as the descriptor served in reflection', () => {
    const { dir, files } = writeProtos([ALL]);
    const out = path.join(dir, 'set.binpb');
    const r = run(PROTOC, ['-I', dir, '-I', '/usr/include', `--descriptor_set_out=${out}`, ...files], dir);
    assert.equal(r.status, 0, r.output);
    const [compiled] = fromBinary(FileDescriptorSetSchema, readFileSync(out)).file;
    const served = nodeFileDescriptor(ALL);
    assert.equal(served.name, compiled!.name);
    assert.equal(served.package, compiled!.package);
    assert.deepEqual(served.dependency, compiled!.dependency);
    const shape = (f: typeof served) => ({
      messages: f.messageType.map((m) => ({ name: m.name, fields: m.field.map((x) => [x.name, x.number, x.label, x.type, x.typeName, x.jsonName]) })),
      services: f.service.map((s) => ({ name: s.name, methods: s.method.map((m) => [m.name, m.inputType, m.outputType]) })),
    });
    assert.deepEqual(shape(served), shape(compiled!));
  });

  it('lets two nodes of one name in two folders, and names with "--", live side by side', () => {
    const vars: Variable[] = [{ name: 'x', type: 'int' }];
    const nodes = [
      node('team-a', 'model', vars, vars),
      node('team-b', 'model', vars, vars),
      node('team--b', 'model', vars, vars),
      node('team-b', 'mo--del', vars, vars),
      node('default', 'class', vars, vars),
      node('default-pb', 'class', vars, vars),
    ];
    const { dir, files } = writeProtos(nodes);
    assert.equal(new Set(files).size, nodes.length);
    bufLint(dir);
    // One protoc run over all of them: a clash of packages or types would fail it.
    protocAll(dir, files);
  });

  it('keeps words C++, Java and Python reserve out of the package (protoc uses it as namespace, package and import path)', () => {
    const { dir, files } = writeProtos([node('default', 'import', [{ name: 'x', type: 'int' }], [{ name: 'y', type: 'int' }])]);
    assert.deepEqual(files, ['berth/nodes/default_pb/import_pb/v1/api.proto']);
    const cpp = mkdtempSync(path.join(work, 'cpp-ns-'));
    const java = mkdtempSync(path.join(work, 'java-pkg-'));
    const r = run(PROTOC, ['-I', dir, `--cpp_out=${cpp}`, `--java_out=${java}`, ...files], dir);
    assert.equal(r.status, 0, r.output);
    const header = readFileSync(path.join(cpp, 'berth/nodes/default_pb/import_pb/v1/api.pb.h'), 'utf8');
    assert.match(header, /namespace default_pb \{/);
    assert.match(readFileSync(path.join(java, 'berth/nodes/default_pb/import_pb/v1/Api.java'), 'utf8'), /^package berth\.nodes\.default_pb\.import_pb\.v1;$/m);
  });

  it('compiles with field names that are keywords of other languages (protoc renames them)', () => {
    const names = ['int', 'new', 'default', 'namespace', 'function', 'var', 'end', 'object', 'string', 'self', 'this', 'package', 'message', 'case', 'switch', 'final', 'match', 'type'];
    const vars: Variable[] = names.map((name) => ({ name, type: 'int' }));
    const { dir, files } = writeProtos([node('default', 'keywords', vars, vars)]);
    bufLint(dir);
    protocAll(dir, files);
  });
});
