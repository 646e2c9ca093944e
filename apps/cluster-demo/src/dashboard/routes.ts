import { join } from 'node:path';
import type { LoginLimiter } from '@sec/rate-limit';
import { RedisUnavailableError } from '@sec/redis-guard';
import {
  CrossOriginRequestError,
  InvalidTokenError,
  type SessionManager,
  sendUnauthorized,
  sessionRouter,
} from '@sec/session';
import express, { type NextFunction, type RequestHandler, type Response, type Router } from 'express';
import { credentialsOf } from '../accounts.js';
import { adminRoutes } from '../admin-routes.js';
import { PUBLIC_DIR } from '../assets.js';
import type { UserDirectory } from '../users.js';
import { PrimaryUnavailableError, type RedisControlClient } from './control-client.js';
import type { ControlMessage, ControlReply } from './messages.js';
import type { DashboardStreams } from './streams.js';

export interface DashboardRoutesOptions {
  /** The dashboard's cookie-mode session manager. */
  readonly manager: SessionManager;
  readonly users: UserDirectory;
  readonly logins: LoginLimiter;
  readonly streams: DashboardStreams;
  readonly control: RedisControlClient;
  readonly workerId: string;
}

/**
 * Only this origin's scripts and styles, no framing, no referrer: the page holds bearer tokens of
 * the sessions its request panel creates, so nothing from elsewhere may run in it.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const secured: RequestHandler = (_req, res, next) => {
  res.set(SECURITY_HEADERS);
  next();
};

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

const CONTROL_ERRORS = {
  not_owned: [409, 'redis_not_owned', 'the demo pauses only a Redis it started itself (no REDIS_URL)'],
  already_paused: [409, 'already_paused', 'Redis is already paused'],
  forbidden: [403, 'forbidden', 'an admin session or the resume key is required'],
} as const;

/** Asks the primary and answers with the Redis state (and, for a pause, the resume key). */
function forward(
  control: RedisControlClient,
  res: Response,
  next: NextFunction,
  ask: Omit<ControlMessage, 'type' | 'id'>,
): void {
  control.request(ask).then(
    (reply: ControlReply) => {
      if (reply.error) {
        const [status, error, message] = CONTROL_ERRORS[reply.error];
        res.status(status).json({ error, message, redis: reply.state });
        return;
      }
      res.json({ redis: reply.state, ...(reply.resumeKey && { resumeKey: reply.resumeKey }) });
    },
    (error: unknown) => {
      if (!(error instanceof PrimaryUnavailableError)) return next(error);
      res.status(503).set('Retry-After', '1').json({ error: 'service_unavailable', service: 'primary' });
    },
  );
}

/**
 * The dashboard: the page at `/` and its files under `/assets`, sign-in at `/dashboard/auth`
 * (sessionRouter in cookie mode, through the same login limiter as the API), and its API at
 * `/dashboard/api`, every route of which needs an admin's dashboard session. State-changing
 * requests are refused (403) unless they come from this origin: the session manager checks
 * `Origin`, or `Sec-Fetch-Site` without it, before it touches Redis.
 * @example app.use(dashboardRoutes({ manager, users, logins, streams, control, workerId }));
 */
export function dashboardRoutes(options: DashboardRoutesOptions): Router {
  const { manager, users, logins, streams, control, workerId } = options;
  const router = express.Router();
  const authenticated = manager.authenticate();
  const admin = manager.requireRole('admin');

  router.get('/', secured, (_req, res) => {
    res.set('Cache-Control', 'no-cache').sendFile(join(PUBLIC_DIR, 'index.html'));
  });
  router.use(
    '/assets',
    secured,
    express.static(join(PUBLIC_DIR, 'assets'), { index: false, redirect: false, maxAge: 0 }),
  );
  router.use(
    '/dashboard/auth',
    secured,
    sessionRouter(manager, { verifyCredentials: credentialsOf(users, 'dashboard'), loginLimiter: logins }),
  );

  const api = express.Router();
  api.use(secured, noStore);
  api.get('/me', authenticated, (req, res) => {
    const { userId, roles, sessionId } = req.auth!;
    res.json({ user: userId, roles, sessionId, admin: roles.includes('admin'), worker: workerId });
  });
  api.get('/events', authenticated, admin, streams.handler);
  api.post('/redis/pause', authenticated, admin, (_req, res, next) =>
    forward(control, res, next, { action: 'pause', admin: true }),
  );
  // Redis is frozen when this is needed, so no session can be checked: the cookie's origin and
  // signature still are, and the key the pause handed out stands in for the admin check.
  api.post('/redis/resume', express.json({ limit: '1kb' }), (req, res, next) => {
    manager.authenticateRequest(req).then(
      (auth) =>
        auth.roles.includes('admin')
          ? forward(control, res, next, { action: 'resume', admin: true })
          : res.status(403).json({ error: 'forbidden' }),
      (error: unknown) => {
        if (error instanceof CrossOriginRequestError)
          return res.status(403).json({ error: 'cross_origin_request' });
        if (error instanceof InvalidTokenError)
          return sendUnauthorized(res, manager.realm, error.reason !== 'missing');
        if (!(error instanceof RedisUnavailableError)) return next(error);
        const resumeKey = (req.body as { resumeKey?: unknown } | undefined)?.resumeKey;
        if (typeof resumeKey !== 'string') return res.status(403).json({ error: 'forbidden' });
        forward(control, res, next, { action: 'resume', admin: false, resumeKey });
      },
    );
  });
  api.use(adminRoutes(manager, users));
  router.use('/dashboard/api', api);
  return router;
}
