import type { Server } from 'node:http';
import { cacheResponse, createEncryptedCache } from '@sec/cache-crypto';
import { createHealth, createMetrics, redisCheck } from '@sec/health';
import { loginLimiter, rateLimit } from '@sec/rate-limit';
import { createJsonLogger, createRedisGuard, type Logger, requireRedis } from '@sec/redis-guard';
import { createAuditTrail } from '@sec/redis-guard/audit';
import { sessionRouter } from '@sec/session';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { credentialsOf } from './accounts.js';
import { adminRoutes } from './admin-routes.js';
import { workerMetrics } from './cluster-metrics.js';
import { AuditFeed } from './dashboard/audit-feed.js';
import { RedisControlClient } from './dashboard/control-client.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { DashboardStreams } from './dashboard/streams.js';
import { WorkerStatsReporter } from './dashboard/worker-stats.js';
import { createDemoSessions } from './sessions.js';
import { storeFrom } from './settings.js';
import { parseUsers } from './users.js';
import { attachEchoSocket, type EchoSocket } from './ws.js';

/** The encrypted cache's namespace: its keys are `sec:cache:demo-profile:*`. */
export const CACHE_NAMESPACE = 'demo-profile';

export interface DemoApp {
  /** Starts listening; errors (a busy port) arrive as the server's 'error' event. */
  listen(port: number, host: string): Server;
  /** Ends the long-lived connections (dashboard streams, WebSockets), so the server can close. */
  drain(): void;
  close(): Promise<void>;
}

/** `logger` masks the guard's secrets (guard.logger): an ioredis error may carry the password. */
function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: { type?: string; status?: number }, _req, res, _next) => {
    if (error.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'bad_request', message: 'malformed JSON body' });
    } else if (error.type === 'entity.too.large') {
      res.status(413).json({ error: 'payload_too_large' });
    } else if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
      res.status(error.status).json({ error: 'bad_request' });
    } else {
      logger.error({ event: 'demo.unhandled_error', err: error }, 'unhandled error');
      res.status(500).json({ error: 'internal_error' });
    }
  };
}

/**
 * Every answer names its worker. A client that sends `X-Demo-Connection: close` gets its
 * connection closed after the answer, so its next request is a new connection that node:cluster
 * hands to the next worker: browsers cannot send `Connection: close` themselves, and the
 * dashboard's request panel uses this to show requests spreading over the workers.
 */
function workerHeader(workerId: string): RequestHandler {
  return (req, res, next) => {
    res.set('X-Worker-Id', workerId);
    if (req.headers['x-demo-connection'] === 'close') res.set('Connection', 'close');
    next();
  };
}

/**
 * One worker's app: every @sec package composed with app.use(), from the environment the primary
 * prepared (shared secrets, Redis settings, users).
 */
export async function createDemoApp(env: NodeJS.ProcessEnv, workerId: string): Promise<DemoApp> {
  const logger = createJsonLogger({ name: `cluster-demo.worker-${workerId}`, level: 'warn' });
  const store = storeFrom([], env);
  const guard = createRedisGuard({ env, logger, ...(store === 'memory' && { mode: 'memory' }) });
  const users = await parseUsers(env.DEMO_USERS ?? '');
  const points = Number(env.RATE_LIMIT_POINTS);
  const windowMs = Number(env.RATE_LIMIT_WINDOW_MS);

  const { api: sessions, dashboard: dashboardSessions } = createDemoSessions(guard, env.SESSION_SECRET!);
  const cache = createEncryptedCache({
    redis: guard,
    namespace: CACHE_NAMESPACE,
    defaultTtlMs: 60_000,
    env,
    logger,
  });
  const health = createHealth({
    checks: [redisCheck(guard)],
    logger,
    ...(env.APP_VERSION && { version: env.APP_VERSION }),
  });
  const clusterMetrics = workerMetrics();
  const metrics = await createMetrics({ guards: [guard], register: clusterMetrics.register });
  const globalLimit = rateLimit({ redis: guard, name: 'global-ip', points, windowMs });
  const perUser = rateLimit({
    redis: guard,
    name: 'per-user',
    points,
    windowMs,
    keyBy: (req) => `user:${req.auth?.userId ?? req.ip}`,
  });
  const socketLimit = rateLimit({ redis: guard, name: 'ws-upgrade', points, windowMs });
  // Users are looked up by the exact username (users.ts), so the limiter keys by it as sent. One
  // limiter for the API and the dashboard: guesses through either count against the same budget.
  const logins = loginLimiter({
    redis: guard,
    name: 'login',
    maxConsecutiveFailsByUsernameAndIp: 5,
    blockDurationMs: 60_000,
  });
  const reporter = new WorkerStatsReporter(workerId, guard);
  // Every worker appends the security events its packages report to the one audit trail in Redis.
  const trail = guard.mode === 'redis' ? createAuditTrail(guard) : undefined;
  const streams = new DashboardStreams({
    manager: dashboardSessions,
    users,
    reporter,
    workerId,
    ...(trail && { audit: (onLines) => new AuditFeed(guard, trail.key, onLines) }),
  });
  const control = new RedisControlClient();

  const app = express();
  app.disable('x-powered-by');
  app.use(workerHeader(workerId), reporter.count);
  // Probes are never rate limited or gated: orchestrators must always be able to ask.
  app.use('/health', health.router());
  app.get('/metrics', clusterMetrics.handler);
  // Before the per-IP limiter, which answers 503 while Redis is down: the page must load and its
  // resume button must work while Redis is paused. Its API is admin-only and its sign-in goes
  // through the login limiter.
  app.use(dashboardRoutes({ manager: dashboardSessions, users, logins, streams, control, workerId }));
  app.use(globalLimit);
  app.use(['/auth', '/api'], requireRedis(guard, { service: 'session' }));
  app.use(
    '/auth',
    sessionRouter(sessions, { verifyCredentials: credentialsOf(users, 'api'), loginLimiter: logins }),
    adminRoutes(sessions, users),
  );

  const api = express.Router();
  api.use(sessions.authenticate(), perUser);
  api.get('/me', (req, res) => {
    res.json({
      user: req.auth!.userId,
      roles: req.auth!.roles,
      sessionId: req.auth!.sessionId,
      worker: workerId,
    });
  });
  api.get('/admin', sessions.requireRole('admin'), (_req, res) => {
    res.json({ ok: true, worker: workerId });
  });
  api.get(
    '/profile',
    cacheResponse({ cache, ttlMs: 60_000, varyByUser: (req) => req.auth?.userId }),
    (req, res) => {
      // Stands in for a slow lookup of personal data: the cached copy is Fernet-encrypted in Redis.
      res.json({
        user: req.auth!.userId,
        displayName: req.auth!.userId.replace(/^./, (c) => c.toUpperCase()),
        generatedAt: new Date().toISOString(),
      });
    },
  );
  app.use('/api', api);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  app.use(errorHandler(guard.logger));

  const sockets: EchoSocket[] = [];
  return {
    listen(port, host) {
      const server = app.listen(port, host);
      sockets.push(attachEchoSocket(server, { app, sessions, limiter: socketLimit, workerId }));
      return server;
    },
    drain() {
      streams.drain();
      for (const socket of sockets) socket.drain();
    },
    async close() {
      streams.drain();
      reporter.close();
      control.close();
      await dashboardSessions.close();
      await sessions.close();
      await metrics.close();
      await trail?.close();
      await guard.close();
    },
  };
}
