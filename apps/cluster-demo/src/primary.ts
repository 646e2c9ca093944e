import cluster, { type Worker } from 'node:cluster';
import { createJsonLogger, isStrictEnvironment, SecError } from '@sec/redis-guard';
import { readSettings, workerEnv } from './settings.js';
import { startupGate } from './startup.js';
import { hasRedisServer, startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis.js';

const log = createJsonLogger({ name: 'cluster-demo', level: 'info' });
/** Exit code a worker uses for configuration errors: restarting it would only fail again. */
export const EXIT_CONFIG = 78;
const SHUTDOWN_GRACE_MS = 10_000;

async function redisEnvironment(
  store: string,
  environment: string,
): Promise<{ env: NodeJS.ProcessEnv; throwaway?: ThrowawayRedis }> {
  if (
    store === 'memory' ||
    process.env.REDIS_URL ||
    process.env.REDIS_CLUSTER_NODES ||
    process.env.REDIS_SENTINELS
  ) {
    return { env: { ...process.env } };
  }
  if (environment === 'production' || environment === 'staging' || !hasRedisServer())
    return { env: { ...process.env } };
  const throwaway = await startThrowawayRedis();
  log.info(
    { event: 'demo.redis.started', url: throwaway.url },
    `started a throwaway redis-server at ${throwaway.url}`,
  );
  return { env: { ...process.env, REDIS_URL: throwaway.url, REDIS_PASSWORD: throwaway.password }, throwaway };
}

/**
 * The cluster primary: checks settings and Redis once (refusing to start on insecure config or a
 * down Redis in production), forks the workers, replaces crashed ones, and shuts down gracefully.
 */
export async function runPrimary(): Promise<void> {
  let throwaway: ThrowawayRedis | undefined;
  try {
    const settings = readSettings(process.argv, process.env);
    const redis = await redisEnvironment(settings.store, settings.environment);
    throwaway = redis.throwaway;
    await startupGate(settings, redis.env);

    let shuttingDown = false;
    const workers = new Map<Worker, number>();
    const fork = (id: number) => {
      const worker = cluster.fork(workerEnv(settings, id, redis.env));
      workers.set(worker, id);
    };
    cluster.on('exit', (worker, code, signal) => {
      const id = workers.get(worker)!;
      workers.delete(worker);
      if (shuttingDown) {
        if (workers.size === 0) {
          throwaway?.stop();
          process.exit(0);
        }
        return;
      }
      if (code === EXIT_CONFIG) {
        log.error(
          { event: 'demo.worker.config_error', worker: id },
          'a worker refused its configuration; stopping',
        );
        shuttingDown = true;
        for (const w of workers.keys()) w.kill();
        throwaway?.stop();
        process.exit(1);
      }
      log.warn(
        { event: 'demo.worker.replaced', worker: id, code, signal },
        `worker ${id} died (${signal ?? code}); starting a new one`,
      );
      fork(id);
    });
    for (let id = 1; id <= settings.workers; id++) fork(id);

    const shutdown = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info({ event: 'demo.shutdown', signal }, `${signal}: draining ${workers.size} workers`);
      for (const worker of workers.keys()) worker.send('shutdown');
      setTimeout(() => {
        for (const worker of workers.keys()) worker.process.kill('SIGKILL');
        throwaway?.stop();
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    const mode = settings.store === 'memory' ? 'MEMORY (revocation is NOT shared between workers)' : 'redis';
    log.info(
      {
        event: 'demo.started',
        workers: settings.workers,
        port: settings.port,
        store: settings.store,
        environment: settings.environment,
      },
      `cluster-demo: ${settings.workers} workers on http://127.0.0.1:${settings.port} (${settings.environment}, store ${mode})`,
    );
    if (!isStrictEnvironment(settings.environment)) {
      log.info(
        { event: 'demo.hint' },
        `try: curl -s -X POST http://127.0.0.1:${settings.port}/auth/login -H 'content-type: application/json' ` +
          `-d '{"username":"alice","password":"alice-password"}'  (users: alice, bob, admin; see apps/cluster-demo/README.md)`,
      );
    }
  } catch (error) {
    throwaway?.stop();
    const code = error instanceof SecError ? ` [${error.code}]` : '';
    process.stderr.write(`cluster-demo refused to start: ${(error as Error).message}${code}\n`);
    process.exit(1);
  }
}
