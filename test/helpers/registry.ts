import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { waitFor } from './wait';

/**
 * A private image registry on 127.0.0.1 that wants a username and password:
 * Debian's `docker-registry` (distribution) run as a plain child process with
 * htpasswd auth and filesystem storage in a temporary directory. The Docker
 * engine treats registries on 127.0.0.0/8 as insecure-allowed, so no TLS is
 * needed. `.ci/run` installs `docker-registry` and `apache2-utils` (htpasswd).
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, the host part of image references and the auth's server address. */
  host: string;
  username: string;
  password: string;
  /** Tags a local image as `<host>/<repository>:<tag>`, pushes it with the credentials and removes the local tag. */
  pushAway(localImage: string, repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether the registry and htpasswd binaries are installed. */
export function registryInstalled(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry && command -v htpasswd'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function follow(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  const events = await new Promise<Array<{ error?: string; errorDetail?: { message?: string } }>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, output) => (err ? reject(err) : resolve(output))),
  );
  const failure = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
  if (failure) throw new Error(failure.errorDetail?.message ?? failure.error);
}

export async function startRegistry(username: string, password: string): Promise<TestRegistry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  // The registry accepts only bcrypt entries.
  writeFileSync(path.join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', username, password]));
  writeFileSync(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: ${host}`,
      `  secret: ${Math.random().toString(36).slice(2)}`,
      'auth:',
      '  htpasswd:',
      '    realm: berth-test',
      `    path: ${path.join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const proc: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await waitFor(`the registry on ${host} (${stderr})`, async () => (await fetch(`http://${host}/v2/`)).status === 401, 20_000, 100);
  const docker = new Dockerode();
  const authconfig = { username, password, serveraddress: host };
  return {
    host,
    username,
    password,
    async pushAway(localImage, repository, tag) {
      const ref = `${host}/${repository}:${tag}`;
      await docker.getImage(localImage).tag({ repo: `${host}/${repository}`, tag });
      await follow(docker, await docker.getImage(ref).push({ authconfig }));
      await docker.getImage(ref).remove();
      return ref;
    },
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
