// What every stack's server process shares: listen on the port the runner chose, tell the runner
// "ready" together with the request headers that authenticate (cookie or bearer token), and exit
// cleanly when the runner disconnects (so `--cpu-prof` profiles are written).
import { createServer } from 'node:http';

/** The route every stack serves, with a small JSON body. */
export const ROUTE = '/api/me';

/** The user every stack logs in once before the load starts. */
export const BENCH_USER = 'bench-user';

/** Loggers that drop everything: log I/O is not what is being measured. */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Connection settings of the runner's redis-server. */
export function redisSettings() {
  const url = process.env.BENCH_REDIS_URL;
  const password = process.env.BENCH_REDIS_PASSWORD;
  if (!url || !password)
    throw new Error('BENCH_REDIS_URL and BENCH_REDIS_PASSWORD must be set by the runner');
  return { url, password };
}

/**
 * Serves `app`, then asks `credentials(baseUrl)` for the headers the load must send and reports
 * `{ ready: true, headers }` to the runner over IPC (and "ready" on stdout).
 * @param {import('node:http').RequestListener} app
 * @param {{ credentials?: (baseUrl: string) => Promise<Record<string, string>>, close?: () => Promise<void> }} hooks
 */
export async function serve(app, hooks = {}) {
  const port = Number(process.env.BENCH_PORT);
  const server = createServer(app);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const headers = hooks.credentials ? await hooks.credentials(`http://127.0.0.1:${port}`) : {};
  process.once('disconnect', async () => {
    server.closeAllConnections();
    server.close();
    await hooks.close?.();
    process.exit(0);
  });
  // The runner asks for CPU time before and after each load: CPU per request is far less
  // sensitive to a shared machine than req/s.
  process.on('message', (message) => {
    if (message === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
  console.log('ready');
  process.send({ ready: true, headers });
}
