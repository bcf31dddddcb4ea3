/**
 * HAProxy's runtime API over its admin socket: one command per connection,
 * the answer read until HAProxy closes it. Commands run one at a time, in
 * the order they were given, so that a server is added before it is enabled
 * and a node's map entry is written only once its servers are there.
 */

import net from 'node:net';

/** An answer that means the command failed (HAProxy answers 200-style text either way). */
const FAILED = /^(Unknown|No such|Require|Missing|Invalid|Can't|Cannot|Server is still in use|Error|'[^']*' (unknown|not found))/im;

export class AdminSocketError extends Error {
  override readonly name = 'AdminSocketError';
}

export class AdminSocket {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** Runs one command and gives HAProxy's answer; rejects when the command failed or the socket did not answer. */
  run(command: string): Promise<string> {
    if (/[\n\r;]/.test(command)) return Promise.reject(new AdminSocketError(`refusing a command with a separator: ${JSON.stringify(command)}`));
    const next = this.tail.then(
      () => this.send(command),
      () => this.send(command),
    );
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Like {@link run}, but a failed command resolves with its answer instead of rejecting. */
  async tryRun(command: string): Promise<{ ok: boolean; answer: string }> {
    try {
      return { ok: true, answer: await this.run(command) };
    } catch (err) {
      if (err instanceof AdminSocketError) return { ok: false, answer: err.message };
      throw err;
    }
  }

  private send(command: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.createConnection(this.socketPath);
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`HAProxy's admin socket did not answer ${JSON.stringify(command)} within ${this.timeoutMs} ms`)));
      socket.on('connect', () => socket.end(`${command}\n`));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', (hadError) => {
        if (hadError) return;
        const answer = Buffer.concat(chunks).toString('utf8').trim();
        if (FAILED.test(answer)) reject(new AdminSocketError(`${command}: ${answer}`));
        else resolve(answer);
      });
    });
  }
}
