import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A test certificate authority and a server certificate it signed, as files and PEM. */
export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Another authority, which signed nothing Berth serves: a client trusting only it must fail the handshake. */
  otherCa: Buffer;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 60_000 });
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

/**
 * Makes, with the `openssl` command, a CA and a server certificate for
 * 127.0.0.1, ::1 and localhost signed by it, in a fresh temporary directory.
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-pki-'));
  await makeCa(dir, 'ca');
  await makeCa(dir, 'other-ca');
  await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt']);
  const file = (name: string) => path.join(dir, name);
  return {
    dir,
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    ca: readFileSync(file('ca.crt')),
    cert: readFileSync(file('server.crt')),
    key: readFileSync(file('server.key')),
    otherCa: readFileSync(file('other-ca.crt')),
  };
}

/** A GET of Berth's REST API over TLS, trusting `ca`; the body parsed as JSON. */
export function httpsGetJson(port: number, requestPath: string, ca: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path: requestPath, ca, servername: 'localhost', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, body: JSON.parse(text) });
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}
