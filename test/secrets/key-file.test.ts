/**
 * The key file of the secrets: three spellings of 32 bytes and nothing else,
 * made 0600 when missing (by default in the data dir), and a start refused on
 * a file that holds no key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { loadSecretKey, parseSecretKey, SecretKeyFileError } from '../../src/secrets/key-file';
import { startTestBerth } from '../helpers/berth';

describe('the secret key file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-key-'));
  const log = pino({ level: 'silent' });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads 32 raw bytes, 64 hex digits and base64 (standard or URL-safe), with surrounding whitespace', () => {
    const key = randomBytes(32);
    for (const bytes of [key, Buffer.from(key.toString('hex')), Buffer.from(`${key.toString('hex').toUpperCase()}\n`), Buffer.from(` ${key.toString('base64')}\r\n`), Buffer.from(key.toString('base64url'))]) {
      assert.deepEqual(parseSecretKey(bytes), key, bytes.toString('latin1'));
    }
  });

  it('refuses anything else', () => {
    for (const bytes of [Buffer.alloc(0), randomBytes(31), randomBytes(33), Buffer.from('a'.repeat(63)), Buffer.from('g'.repeat(64)), Buffer.from(randomBytes(20).toString('base64')), Buffer.from('passphrase')]) {
      assert.equal(parseSecretKey(bytes), undefined, bytes.toString('latin1'));
    }
  });

  it('makes a missing file (and its directory) readable by its owner only, and reads it back the same', () => {
    const file = path.join(dir, 'new', 'secret.key');
    const key = loadSecretKey(file, log);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
    assert.deepEqual(loadSecretKey(file, log), key);
  });

  it('refuses to start on a file that holds no key, and leaves it alone', () => {
    const file = path.join(dir, 'bad.key');
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadSecretKey(file, log), (err: unknown) => err instanceof SecretKeyFileError && /32 raw bytes, 64 hex digits or 44 characters of base64/.test(err.message));
    assert.equal(readFileSync(file, 'utf8'), 'not a key\n');
  });

  it('warns when others can read the file', () => {
    const file = path.join(dir, 'open.key');
    writeFileSync(file, randomBytes(32));
    chmodSync(file, 0o644);
    const lines: string[] = [];
    loadSecretKey(file, pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }));
    assert.ok(lines.some((line) => line.includes('chmod 600')), lines.join(''));
  });

  it('is <data-dir>/secret.key by default, and a start on a file that holds no key fails before anything else', async () => {
    const t = (await startTestBerth('sqlite'))!;
    try {
      const file = path.join(t.config.dataDir, 'secret.key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
    } finally {
      await t.close();
    }
    const file = path.join(dir, 'start.key');
    writeFileSync(file, randomBytes(20).toString('hex'));
    const dataDir = path.join(dir, 'refused');
    await assert.rejects(startTestBerth('sqlite', { secretKeyFile: file, dataDir, databaseUrl: path.join(dataDir, 'berth.sqlite') }), SecretKeyFileError);
    assert.equal(existsSync(path.join(dataDir, 'berth.sqlite')), false, 'no database was opened');
  });
});
