import { isStrictEnvironment, RedisUnavailableError, sendServiceUnavailable } from '@sec/redis-guard';
import { checkOptions } from '@sec/redis-guard/internal';
import express, {
  type ErrorRequestHandler,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { CrossOriginRequestError, SessionArgumentError, SessionLimitError } from './errors.js';
import type { RouterLoginAttempt, RouterLoginLimiter } from './login-limiter.js';
import type { SessionManager } from './manager.js';
import { sendCrossOrigin, sendUnauthorized } from './middleware.js';
import { assertTrustedOrigin } from './origin.js';
import { parseSessionId } from './session-id.js';

/**
 * Who verifyCredentials says the caller is.
 * @example const user: VerifiedUser = { userId: '42', roles: ['user'], metadata: { plan: 'pro' } };
 */
export interface VerifiedUser {
  /** Any string of 1-512 UTF-8 bytes without control characters; anything else is answered 400. */
  readonly userId: string;
  readonly roles?: readonly string[];
  /** Kept with the session (≤ 2 KiB of JSON, else the login is answered 400). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Checks a login body against your user store.
 * @example
 * const verify: CredentialsVerifier = async ({ username, password }) =>
 *   (await checkPassword(username, password)) ? { userId: String(username) } : undefined;
 */
export type CredentialsVerifier = (
  body: Readonly<Record<string, unknown>>,
  req: Request,
) => Promise<VerifiedUser | null | undefined | false> | VerifiedUser | null | undefined | false;

/**
 * Options of sessionRouter().
 * @example
 * const options: SessionRouterOptions = {
 *   verifyCredentials: async ({ username, password }) =>
 *     (await checkPassword(username, password)) ? { userId: String(username) } : undefined,
 *   loginLimiter: loginLimiter({ redis: guard }),
 * };
 */
export interface SessionRouterOptions {
  /**
   * Checks the login body (e.g. `{ username, password }`) against your user store. Return the
   * user, or a falsy value for bad credentials. A body that is not a JSON object arrives as `{}`.
   * Also called by `POST /reauthenticate`, where the user it returns must be the session's.
   */
  readonly verifyCredentials: CredentialsVerifier;
  /**
   * Brute-force protection (`loginLimiter()` from @sec/rate-limit, or anything of that shape).
   * Each attempt is reserved before verifyCredentials runs, so a burst of parallel guesses cannot
   * slip past the limit.
   */
  readonly loginLimiter?: RouterLoginLimiter;
  /** The account a login attempt is counted against. Default: the body's `username`. */
  readonly account?: (body: Readonly<Record<string, unknown>>, req: Request) => unknown;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Anything but a JSON object reaches verifyCredentials as {}, so destructuring it is safe. */
function fieldsOf(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

/**
 * Login, logout and session management endpoints to mount where you like:
 * `POST /login`, `POST /reauthenticate`, `POST /logout`, `GET /sessions`,
 * `DELETE /sessions/others`, `DELETE /sessions/:sessionId`, `DELETE /sessions`.
 * A user can only see and revoke their own sessions. In cookie mode `/login` also demands a
 * trusted origin, so a forged form cannot log the browser into someone else's account.
 * @example
 * app.use('/auth', sessionRouter(sessions, {
 *   verifyCredentials: async ({ username, password }) =>
 *     (await checkPassword(username, password)) ? { userId: String(username) } : undefined,
 *   loginLimiter: loginLimiter({ redis: guard }),
 * }));
 */
export function sessionRouter(manager: SessionManager, options: SessionRouterOptions): Router {
  checkOptions('sessionRouter', options, {
    verifyCredentials: {
      kind: 'function',
      required: 'verifyCredentials(body, req) checks a login and names the user',
    },
    loginLimiter: {
      kind: 'object',
      check: (value) => {
        const limiter = value as Partial<RouterLoginLimiter>;
        return typeof limiter.reserve === 'function' && typeof limiter.respond === 'function'
          ? undefined
          : 'must have reserve(req, account) and respond(res, attempt)';
      },
    },
    account: 'function',
  });
  const limiter = options.loginLimiter;
  const guard = manager.guard;
  if (!limiter && isStrictEnvironment(guard.environment)) {
    guard.warnOnce(
      'session.router_without_login_limiter',
      'sessionRouter() has no loginLimiter: passwords can be guessed as fast as requests arrive. Pass loginLimiter().',
    );
  }
  const account = options.account ?? ((body) => body.username);
  const router = express.Router();
  const auth = manager.authenticate();
  const noStore: RequestHandler = (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  };
  const wrap =
    (handler: Handler): RequestHandler =>
    (req, res, next) => {
      handler(req, res).catch((error: unknown) => {
        if (error instanceof RedisUnavailableError) return sendServiceUnavailable(res, guard, 'session');
        if (error instanceof CrossOriginRequestError) return sendCrossOrigin(res);
        if (error instanceof SessionLimitError) {
          res.status(409).json({ error: 'session_limit_reached' });
          return;
        }
        // What verifyCredentials returned came, one way or another, from the request: a user id
        // or metadata we cannot store is the client's 400, never a 500.
        if (
          error instanceof SessionArgumentError &&
          (error.argument === 'userId' || error.argument === 'metadata')
        ) {
          guard.warnOnce(
            `session.login_refused.${error.argument}`,
            `a login was refused with 400: ${error.message}`,
          );
          res.status(400).json({ error: 'invalid_request' });
          return;
        }
        next(error);
      });
    };

  /**
   * Reserves the attempt (counted before the password is checked), then verifies. Resolves to
   * the verified user, or undefined once a response has been sent.
   */
  const verify = async (
    req: Request,
    res: Response,
    fields: Record<string, unknown>,
    accountOf: unknown,
    expectedUserId?: string,
  ) => {
    let attempt: RouterLoginAttempt | undefined;
    if (limiter) {
      attempt = await limiter.reserve(req, accountOf);
      if (limiter.respond(res, attempt)) return undefined;
      if (attempt.outcome !== 'allowed') {
        // A limiter that neither allowed nor answered: refuse rather than let the attempt through.
        if (!res.headersSent) res.status(429).json({ error: 'too_many_requests' });
        return undefined;
      }
    }
    const user = await options.verifyCredentials(fields, req);
    const ok = !!user && (expectedUserId === undefined || user.userId === expectedUserId);
    if (attempt?.outcome === 'allowed') await (ok ? attempt.succeeded() : attempt.failed());
    if (!ok) {
      const name = fields.username;
      await manager.recordLoginFailure({
        ...(req.ip !== undefined && { ip: req.ip }),
        ...(typeof name === 'string' && { user: name }),
      });
      sendUnauthorized(res, manager.realm, false);
      return undefined;
    }
    return user as VerifiedUser;
  };

  router.use(noStore);

  router.post(
    '/login',
    express.json({ limit: '8kb' }),
    wrap(async (req, res) => {
      const cookie = manager.cookie;
      // The response sets a cookie: a forged cross-site login would sign the browser in as the attacker.
      if (cookie?.originCheck) assertTrustedOrigin(req, cookie);
      const fields = fieldsOf(req.body);
      const user = await verify(req, res, fields, account(fields, req));
      if (!user) return;
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
    '/reauthenticate',
    auth,
    express.json({ limit: '8kb' }),
    wrap(async (req, res) => {
      const { userId, sessionId } = req.auth!;
      const user = await verify(req, res, fieldsOf(req.body), userId, userId);
      if (!user) return;
      if (!(await manager.markReauthenticated(sessionId))) {
        sendUnauthorized(res, manager.realm, true);
        return;
      }
      res.status(204).end();
    }),
  );

  router.post(
    '/logout',
    auth,
    wrap(async (req, res) => {
      const { userId, sessionId } = req.auth!;
      if (await manager.revoke(sessionId)) {
        manager.guard.report({ type: 'session.logout', userId, sessionId }, { user: userId });
      }
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

  // Before /sessions/:sessionId, which would otherwise take "others" for a session id.
  router.delete(
    '/sessions/others',
    auth,
    wrap(async (req, res) => {
      res.json({ revoked: await manager.revokeOtherSessions(req.auth!.sessionId) });
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
