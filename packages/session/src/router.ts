import { checkOptions, isRedisUnavailable, sendServiceUnavailable } from '@sec/redis-guard';
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { parseSessionId } from './ids.js';
import type { SessionManager } from './manager.js';
import { sendUnauthorized } from './middleware.js';

/**
 * Who verifyCredentials says the caller is.
 * @example verifyCredentials: async ({ username }) => ({ userId: username, roles: ['user'] })
 */
export interface VerifiedUser {
  readonly userId: string;
  readonly roles?: readonly string[];
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Options of sessionRouter().
 * @example sessionRouter(sessions, { verifyCredentials: (body) => users.check(body) });
 */
export interface SessionRouterOptions {
  /**
   * Checks the login body (e.g. `{ username, password }`) against your user store. Return the
   * user, or a falsy value for bad credentials. Put a rate limiter in front of the router. A body
   * that is not a JSON object arrives as `{}`.
   */
  readonly verifyCredentials: (
    body: Readonly<Record<string, unknown>>,
    req: Request,
  ) => Promise<VerifiedUser | null | undefined | false> | VerifiedUser | null | undefined | false;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/**
 * Login, logout and session management endpoints to mount where you like:
 * `POST /login`, `POST /logout`, `GET /sessions`, `DELETE /sessions/:sessionId`, `DELETE /sessions`.
 * A user can only see and revoke their own sessions.
 * @example
 * app.use('/auth', rateLimit({ points: 10, duration: 60 }), sessionRouter(sessions, {
 *   verifyCredentials: async ({ username, password }) => users.check(username, password),
 * }));
 */
export function sessionRouter(manager: SessionManager, options: SessionRouterOptions): Router {
  checkOptions('sessionRouter', options, { verifyCredentials: 'function' });
  if (typeof options?.verifyCredentials !== 'function') {
    throw new TypeError('sessionRouter(): the verifyCredentials(body, req) option is required');
  }
  const router = express.Router();
  const auth = manager.authenticate();
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  const wrap =
    (handler: Handler): RequestHandler =>
    (req, res, next) => {
      handler(req, res).catch((error: unknown) =>
        isRedisUnavailable(error) ? sendServiceUnavailable(res, manager.guard, 'session') : next(error),
      );
    };

  router.use(noStore);

  router.post(
    '/login',
    express.json({ limit: '8kb' }),
    wrap(async (req, res) => {
      // Anything but a JSON object reaches verifyCredentials as {}, so destructuring it is safe.
      const body: unknown = req.body;
      const fields =
        typeof body === 'object' && body !== null && !Array.isArray(body)
          ? (body as Record<string, unknown>)
          : {};
      const user = await options.verifyCredentials(fields, req);
      if (!user) {
        const name = fields.username;
        await manager.recordLoginFailure({
          ...(req.ip !== undefined && { ip: req.ip }),
          ...(typeof name === 'string' && { user: name }),
        });
        sendUnauthorized(res, manager.realm, false);
        return;
      }
      const session = await manager.create(user.userId, {
        ...(user.roles !== undefined && { roles: user.roles }),
        ...(user.metadata !== undefined && { metadata: user.metadata }),
      });
      manager.setCookie(res, session);
      res.status(201).json({
        sessionId: session.sessionId,
        expiresAt: session.expiresAt.toISOString(),
        // With cookies the token stays out of reach of page scripts.
        ...(!manager.cookie && { accessToken: session.accessToken, tokenType: 'Bearer' }),
      });
    }),
  );

  router.post(
    '/logout',
    auth,
    wrap(async (req, res) => {
      await manager.revoke(req.auth!.sessionId);
      manager.clearCookie(res);
      res.status(204).end();
    }),
  );

  router.get(
    '/sessions',
    auth,
    wrap(async (req, res) => {
      const current = req.auth!.sessionId;
      const sessions = await manager.listForUser(req.auth!.userId);
      res.json({
        sessions: sessions.map(({ roles: _roles, userId: _userId, ...s }) => ({
          ...s,
          current: s.sessionId === current,
        })),
      });
    }),
  );

  router.delete(
    '/sessions/:sessionId',
    auth,
    wrap(async (req, res) => {
      const target = parseSessionId(req.params.sessionId);
      // Another user's session id is answered exactly like an unknown one.
      const revoked =
        target?.userId === req.auth!.userId && (await manager.revoke(req.params.sessionId as string));
      if (!revoked) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      if (req.params.sessionId === req.auth!.sessionId) manager.clearCookie(res);
      res.status(204).end();
    }),
  );

  router.delete(
    '/sessions',
    auth,
    wrap(async (req, res) => {
      const revoked = await manager.revokeAllForUser(req.auth!.userId);
      manager.clearCookie(res);
      res.json({ revoked });
    }),
  );

  const badBody: ErrorRequestHandler = (error: { status?: unknown; type?: unknown }, _req, res, next) => {
    const status = typeof error?.status === 'number' ? error.status : 0;
    if (typeof error?.type === 'string' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'invalid_request' });
      return;
    }
    next(error);
  };
  router.use(badBody);
  return router;
}
