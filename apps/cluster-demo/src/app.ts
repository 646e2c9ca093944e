import type { Server } from 'node:http';
import { cacheResponse, createEncryptedCache } from '@sec/cache-crypto';
import { createHealth, createMetrics, redisCheck } from '@sec/health';
import { loginLimiter, rateLimit } from '@sec/rate-limit';
import { createJsonLogger, createRedisGuard, type Logger, requireRedis, scrubError } from '@sec/redis-guard';
import { createSessionManager } from '@sec/session';
import express, { type ErrorRequestHandler } from 'express';
import { authRoutes } from './auth-routes.js';
import { workerMetrics } from './cluster-metrics.js';
import { storeFrom } from './settings.js';
import { parseUsers } from './users.js';
import { attachEchoSocket } from './ws.js';

/** Access tokens live as long as the absolute session timeout. */
const SESSION_SECONDS = 8 * 60 * 60;

export interface DemoApp {
  /** Starts listening; errors (a busy port) arrive as the server's 'error' event. */
  listen(port: number, host: string): Server;
  close(): Promise<void>;
}

function errorHandler(logger: Logger, secrets: () => readonly string[]): ErrorRequestHandler {
  return (error: { type?: string; status?: number }, _req, res, _next) => {
    if (error.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'bad_request', message: 'malformed JSON body' });
    } else if (error.type === 'entity.too.large') {
      res.status(413).json({ error: 'payload_too_large' });
    } else if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
      res.status(error.status).json({ error: 'bad_request' });
    } else {
      logger.error({ event: 'demo.unhandled_error', err: scrubError(error, secrets()) }, 'unhandled error');
      res.status(500).json({ error: 'internal_error' });
    }
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
  // RATE_LIMIT_DURATION is in seconds (the demo's settings); the limiters take ms.
  const windowMs = Number(env.RATE_LIMIT_DURATION) * 1000;

  const sessions = createSessionManager({
    redis: guard,
    signingKeys: [{ kid: 'demo-1', secret: env.SESSION_SECRET! }],
    issuer: 'cluster-demo',
    audience: 'cluster-demo',
    idleTimeoutMs: 30 * 60_000,
    absoluteTimeoutMs: SESSION_SECONDS * 1000,
  });
  const cache = createEncryptedCache({
    redis: guard,
    namespace: 'demo-profile',
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
  // Users are looked up by the exact username (users.ts), so the limiter keys by it as sent.
  const logins = loginLimiter({
    redis: guard,
    name: 'login',
    maxConsecutiveFailsByUsernameAndIp: 5,
    blockDurationMs: 60_000,
  });

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.set('X-Worker-Id', workerId);
    next();
  });
  // Probes are never rate limited or gated: orchestrators must always be able to ask.
  app.use('/health', health.router());
  app.get('/metrics', clusterMetrics.handler);
  app.use(globalLimit);
  app.use(['/auth', '/api'], requireRedis(guard, { service: 'session' }));
  app.use('/auth', authRoutes(sessions, users, logins, SESSION_SECONDS));

  const api = express.Router();
  api.use(sessions.authenticate(), perUser);
  api.get('/me', (req, res) => {
    res.json({
      user: req.auth!.userId,
      roles: req.auth!.roles,
      session_id: req.auth!.sessionId,
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
        display_name: req.auth!.userId.replace(/^./, (c) => c.toUpperCase()),
        generated_at: new Date().toISOString(),
      });
    },
  );
  app.use('/api', api);
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  app.use(errorHandler(logger, () => guard.secrets()));

  const servers: Server[] = [];
  return {
    listen(port, host) {
      const server = app.listen(port, host);
      attachEchoSocket(server, app, sessions, socketLimit);
      servers.push(server);
      return server;
    },
    async close() {
      await sessions.close();
      await metrics.close();
      await guard.close();
    },
  };
}
