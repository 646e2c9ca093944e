import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { createJsonLogger, isStrictEnvironment, SecError } from '@sec/redis-guard';
import { serveClusterMetrics } from './cluster-metrics.js';
import { serveClusterStats } from './dashboard/cluster-stats.js';
import { serveRedisControl } from './dashboard/redis-control.js';
import { type DemoSettings, readSettings, workerEnv } from './settings.js';
import { startupGate } from './startup.js';
import { hasRedisServer, startThrowawayRedis, type ThrowawayRedis } from './throwaway-redis.js';

const log = createJsonLogger({ name: 'cluster-demo', level: 'info' });
/** Exit code a worker uses for configuration errors: restarting it would only fail again. */
export const EXIT_CONFIG = 78;
/** Exit code of a worker that cannot listen (port in use, address not available); not restarted either. */
export const EXIT_LISTEN = 79;

/** What a worker that cannot listen tells the primary before it exits with EXIT_LISTEN. */
export interface ListenFailed {
  readonly type: 'demo.listen_failed';
  readonly code: string;
}

const LISTEN_ADVICE: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process is using the port. Stop it, or set PORT to a free port',
  EACCES: 'this user may not listen on that port. Set PORT to 1024 or above',
  EADDRNOTAVAIL: 'no network interface has that address. Set HOST to a local address (default 127.0.0.1)',
  ENOTFOUND: 'the HOST name does not resolve. Set HOST to a local address (default 127.0.0.1)',
};

function listenError(settings: DemoSettings, code: string | undefined): string {
  const reason = (code && LISTEN_ADVICE[code]) ?? 'see the worker output above';
  return `cannot listen on ${settings.host} port ${settings.port} (${code ?? 'unknown error'}): ${reason}.`;
}

/** An address to show in a URL: every-interface binds are reachable on loopback, IPv6 needs brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
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
  return {
    env: {
      ...process.env,
      REDIS_URL: throwaway.url,
      REDIS_USERNAME: throwaway.username,
      REDIS_PASSWORD: throwaway.password,
    },
    throwaway,
  };
}

/**
 * The cluster primary: checks settings and Redis once (refusing to start on insecure config or a
 * down Redis in production), forks the workers, replaces crashed ones, and shuts down gracefully.
 * `pendingSignal` is a SIGINT/SIGTERM that arrived while the modules were loading: the primary
 * then stops as soon as it can, with exit code 0.
 */
export async function runPrimary(pendingSignal?: NodeJS.Signals): Promise<void> {
  let throwaway: ThrowawayRedis | undefined;
  // Ctrl-C reaches every process of the terminal's group at once, at any moment. Until the
  // workers run, a signal is only remembered: start-up then stops and the primary exits 0, rather
  // than dying of the signal (which `pnpm demo` would report as a failed command).
  let stopSignal = pendingSignal;
  let onSignal = (signal: NodeJS.Signals) => {
    stopSignal ??= signal;
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const stopBeforeStart = (signal: NodeJS.Signals): never => {
    log.info({ event: 'demo.shutdown', signal }, `${signal}: stopped during start-up`);
    throwaway?.stop();
    process.exit(0);
  };
  try {
    const settings = readSettings(process.argv, process.env);
    const redis = await redisEnvironment(settings.store, settings.environment);
    throwaway = redis.throwaway;
    if (stopSignal) stopBeforeStart(stopSignal);
    await startupGate(settings, redis.env);
    if (stopSignal) stopBeforeStart(stopSignal);

    serveClusterMetrics();
    serveClusterStats(serveRedisControl(throwaway));
    let shuttingDown = false;
    const workers = new Map<Worker, number>();
    const fork = (id: number) => {
      const worker = cluster.fork(workerEnv(settings, id, redis.env));
      workers.set(worker, id);
    };
    const stopAll = (message: string) => {
      shuttingDown = true;
      process.stderr.write(`cluster-demo refused to start: ${message}\n`);
      for (const w of workers.keys()) w.kill();
      throwaway?.stop();
      process.exit(1);
    };
    let listenFailure: string | undefined;
    let failing = false;
    cluster.on('message', (_worker, message: Partial<ListenFailed>) => {
      if (message?.type === 'demo.listen_failed') listenFailure ??= message.code;
    });
    cluster.on('exit', (worker, code, signal) => {
      const id = workers.get(worker)!;
      workers.delete(worker);
      if (failing) return;
      if (shuttingDown) {
        if (workers.size === 0) {
          throwaway?.stop();
          process.exit(0);
        }
        return;
      }
      // Both would fail again in a replacement: report once and stop instead of respawning.
      if (code === EXIT_LISTEN) {
        failing = true;
        // 'exit' can overtake the worker's last message; its channel closes only after delivering it.
        const report = () => stopAll(listenError(settings, listenFailure));
        if (worker.isConnected()) worker.once('disconnect', report);
        else report();
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

    const listening = new Set<number>();
    let started = false;
    cluster.on('listening', (worker, address: AddressInfo) => {
      listening.add(workers.get(worker) ?? 0);
      if (started || listening.size < settings.workers) return;
      started = true;
      const base = `http://${urlHost(settings.host)}:${address.port}`;
      const mode =
        settings.store === 'memory' ? 'MEMORY (revocation is NOT shared between workers)' : 'redis';
      log.info(
        {
          event: 'demo.started',
          workers: settings.workers,
          host: settings.host,
          port: address.port,
          store: settings.store,
          environment: settings.environment,
        },
        `cluster-demo: ${settings.workers} workers on ${base} (HOST ${settings.host}, ${settings.environment}, store ${mode})`,
      );
      if (!isStrictEnvironment(settings.environment)) {
        log.info(
          { event: 'demo.hint' },
          `try: curl -s -X POST ${base}/auth/login -H 'content-type: application/json' ` +
            `-d '{"username":"alice","password":"alice-password"}'  (users: alice, bob, admin; see apps/cluster-demo/README.md)`,
        );
      }
    });
    for (let id = 1; id <= settings.workers; id++) fork(id);

    onSignal = (signal) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info({ event: 'demo.shutdown', signal }, `${signal}: draining ${workers.size} workers`);
      // A signal rather than a message: a worker still starting has no message listener yet and
      // would miss it, while SIGTERM ends it either way (its handler drains, or it dies unstarted).
      for (const worker of workers.keys()) worker.process.kill('SIGTERM');
      setTimeout(() => {
        for (const worker of workers.keys()) worker.process.kill('SIGKILL');
        throwaway?.stop();
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
    };
  } catch (error) {
    // A signal during start-up can take the throwaway Redis down with it: that is a stop, not a failure.
    if (stopSignal) stopBeforeStart(stopSignal);
    throwaway?.stop();
    const code = error instanceof SecError ? ` [${error.code}]` : '';
    process.stderr.write(`cluster-demo refused to start: ${(error as Error).message}${code}\n`);
    process.exit(1);
  }
}
