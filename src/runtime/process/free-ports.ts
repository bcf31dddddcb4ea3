import { createServer, type Server } from 'node:net';

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      server.off('error', reject);
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error(`no port assigned on ${host}`));
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Asks the kernel for `count` distinct free TCP ports on `host`. Every
 * listener stays open until all are picked, so one call never returns the
 * same port twice. Another program may take a port between this call and the
 * instance binding it; that race is accepted: the instance then fails to
 * start, is seen as exited and is replaced by the supervisor.
 */
export async function freePorts(count: number, host: string): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listen(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}
