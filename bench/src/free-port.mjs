// A free loopback TCP port, never 6379 (a developer's own Redis may live there).
import { createServer } from 'node:net';

/** @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => (port === 6379 ? resolve(freePort()) : resolve(port)));
    });
  });
}
