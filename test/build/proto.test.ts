import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.join(__dirname, '..', '..');
const buf = path.join(root, 'node_modules', '.bin', 'buf');

function files(dir: string): string[] {
  return readdirSync(dir).filter((name) => name !== '__pycache__').flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p).map((f) => path.join(name, f)) : [name];
  });
}

describe('the protobuf contract', () => {
  it('passes buf lint', () => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'vendor-protos.js')]);
    execFileSync(buf, ['lint'], { cwd: root, stdio: 'pipe' });
  });

  it('regenerates gen/ and the Python client\'s stubs exactly as committed', () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'berth-gen-'));
    try {
      execFileSync(buf, ['generate', '-o', out], { cwd: root, stdio: 'pipe' });
      execFileSync(buf, ['build', '-o', path.join(out, 'gen', 'berth.binpb')], { cwd: root, stdio: 'pipe' });
      // What `npm run gen` replaces: gen/ whole, and the generated packages of clients/python.
      for (const dir of ['gen', 'clients/python/berth', 'clients/python/google']) {
        const generated = files(path.join(out, dir)).sort();
        assert.deepEqual(generated, files(path.join(root, dir)).sort(), `the files of ${dir}/`);
        for (const f of generated) {
          assert.ok(readFileSync(path.join(out, dir, f)).equals(readFileSync(path.join(root, dir, f))), `${dir}/${f} differs from what buf generates`);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
