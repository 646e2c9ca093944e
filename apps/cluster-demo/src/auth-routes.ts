import type { LoginLimiter } from '@sec/rate-limit';
import { RedisUnavailableError, sendServiceUnavailable } from '@sec/redis-guard';
import { parseSessionId, type SessionManager } from '@sec/session';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { UserDirectory } from './users.js';

const KNOWN_ROLES = new Set(['user', 'admin']);

/** Async handlers whose Redis outages become the shared 503, never a 500. */
function handler(
  manager: SessionManager,
  run: (req: Request, res: Response) => Promise<void>,
): RequestHandler {
  return (req, res, next) => {
    run(req, res).catch((error: unknown) =>
      error instanceof RedisUnavailableError
        ? sendServiceUnavailable(res, manager.guard, 'session')
        : next(error),
    );
  };
}

function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: 'bad_request', message });
}

/**
 * The demo's /auth API: login (brute-force limited), logout, listing and revoking sessions, and the
 * admin endpoints for revoke-all and role changes.
 */
export function authRoutes(
  manager: SessionManager,
  users: UserDirectory,
  logins: LoginLimiter,
  expiresIn: number,
): Router {
  const router = express.Router();
  const auth = manager.authenticate();
  const admin = manager.requireRole('admin');
  router.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.post(
    '/login',
    express.json({ limit: '8kb' }),
    handler(manager, async (req, res) => {
      const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
      if (typeof username !== 'string' || typeof password !== 'string') {
        return badRequest(res, 'body must be {"username": string, "password": string}');
      }
      // Counted before the password check: a burst of guesses gets no more checks than the limit.
      const attempt = await logins.reserve(req, username);
      if (logins.respond(res, attempt)) return;
      const user = await users.verify(username, password);
      if (!user) {
        await attempt.failed();
        await manager.recordLoginFailure({ ...(req.ip !== undefined && { ip: req.ip }), user: username });
        res.status(401).json({ error: 'invalid_credentials' });
        return;
      }
      await attempt.succeeded();
      const session = await manager.create(user.username, { roles: user.roles });
      res.json({
        access_token: session.accessToken,
        token_type: 'Bearer',
        session_id: session.sessionId,
        expires_in: expiresIn,
      });
    }),
  );

  router.post(
    '/logout',
    auth,
    handler(manager, async (req, res) => {
      await manager.revoke(req.auth!.sessionId);
      res.status(204).end();
    }),
  );

  router.get(
    '/sessions',
    auth,
    handler(manager, async (req, res) => {
      const sessions = await manager.listForUser(req.auth!.userId);
      res.json({
        sessions: sessions.map((s) => ({
          session_id: s.sessionId,
          created_at: s.createdAt.toISOString(),
          last_seen_at: s.lastSeenAt.toISOString(),
          expires_at: s.expiresAt.toISOString(),
          current: s.sessionId === req.auth!.sessionId,
        })),
      });
    }),
  );

  router.delete(
    '/sessions/:sessionId',
    auth,
    handler(manager, async (req, res) => {
      const sessionId = String(req.params.sessionId);
      const owner = parseSessionId(sessionId)?.userId;
      const isAdmin = req.auth!.roles.includes('admin');
      if (!isAdmin && owner !== req.auth!.userId) {
        res.status(403).json({ error: 'forbidden' });
        return;
      }
      if (!owner || !(await manager.revoke(sessionId))) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      res.status(204).end();
    }),
  );

  router.delete(
    '/users/:userId/sessions',
    auth,
    admin,
    handler(manager, async (req, res) => {
      const userId = String(req.params.userId);
      if (!users.has(userId)) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      await manager.revokeAllForUser(userId);
      res.status(204).end();
    }),
  );

  router.put(
    '/users/:userId/roles',
    auth,
    admin,
    express.json({ limit: '2kb' }),
    handler(manager, async (req, res) => {
      const userId = String(req.params.userId);
      const roles = (req.body as { roles?: unknown } | undefined)?.roles;
      if (
        !Array.isArray(roles) ||
        roles.length > 8 ||
        !roles.every((r) => typeof r === 'string' && KNOWN_ROLES.has(r))
      ) {
        return badRequest(res, `roles must be an array of: ${[...KNOWN_ROLES].join(', ')}`);
      }
      if (!users.has(userId)) {
        res.status(404).json({ error: 'not_found' });
        return;
      }
      await manager.updateUser(userId, { roles });
      res.status(204).end();
    }),
  );
  return router;
}
