import { createServer } from 'node:net';

/** The developer's own Redis; the harness must never start on, connect to, or flush it. */
export const RESERVED_REDIS_PORT = 6379;

/**
 * Asks the OS for a free loopback port.
 * @example const port = await freePort();
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    // Cluster nodes also listen on port + 10000, which must stay inside the valid range.
    if (port !== RESERVED_REDIS_PORT && port > 0 && port < 55_000) return port;
  }
}
