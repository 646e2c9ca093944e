import { createJsonLogger, SecError } from '@sec/redis-guard';
import { createDemoApp } from './app.js';
import { EXIT_CONFIG, EXIT_LISTEN, type ListenFailed } from './primary.js';
import { DEFAULT_HOST } from './settings.js';

const log = createJsonLogger({ name: 'cluster-demo', level: 'info' });

/** One worker: builds the app from the environment the primary handed it and serves the shared port. */
export async function runWorker(): Promise<void> {
  const workerId = process.env.WORKER_ID ?? String(process.pid);
  let demo: Awaited<ReturnType<typeof createDemoApp>>;
  try {
    demo = await createDemoApp(process.env, workerId);
  } catch (error) {
    const code = error instanceof SecError ? ` [${error.code}]` : '';
    process.stderr.write(`worker ${workerId} refused to start: ${(error as Error).message}${code}\n`);
    process.exit(EXIT_CONFIG);
  }
  const server = demo.listen(Number(process.env.PORT ?? 3000), process.env.HOST || DEFAULT_HOST);
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (server.listening) {
      log.error({ event: 'demo.worker.server_error', worker: workerId, code: error.code }, error.message);
      return;
    }
    // A busy port or an unavailable address: the primary reports it once and stops, since a
    // replacement worker would fail the same way.
    const failure: ListenFailed = { type: 'demo.listen_failed', code: error.code ?? 'UNKNOWN' };
    if (process.send) process.send(failure, () => process.exit(EXIT_LISTEN));
    else process.exit(EXIT_LISTEN);
  });
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    // Stop accepting, let in-flight requests finish, then release Redis.
    server.close();
    demo.drain();
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), 5_000);
    force.unref();
    await new Promise((resolve) => server.once('close', resolve));
    await demo.close();
    log.info({ event: 'demo.worker.stopped', worker: workerId }, `worker ${workerId} stopped`);
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'shutdown') void shutdown();
  });
  // Ctrl-C reaches every process in the group; the primary also asks, whichever comes first wins.
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}
