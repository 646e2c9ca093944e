import { RedisUnavailableError, sendServiceUnavailable } from '@sec/redis-guard';
import { parseSessionId, type SessionInfo, type SessionManager } from '@sec/session';
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

function notFound(res: Response): void {
  res.status(404).json({ error: 'not_found' });
}

/**
 * A session as the admin API lists it. The record's metadata holds the device the session was
 * started from (see accounts.ts).
 * @example res.json({ sessions: sessions.map(describeSession) });
 */
export function describeSession(session: SessionInfo): Record<string, unknown> {
  return {
    sessionId: session.sessionId,
    userId: session.userId,
    createdAt: session.createdAt.toISOString(),
    authenticatedAt: session.authenticatedAt.toISOString(),
    lastSeenAt: session.lastSeenAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    idleExpiresAt: session.idleExpiresAt.toISOString(),
    metadata: session.metadata,
  };
}

/**
 * The demo's admin endpoints, on top of sessionRouter (which only ever lets users act on their
 * own sessions): any user's sessions listed and revoked one by one, all but one, or all at once,
 * and role changes. Each route authenticates with `manager` and needs the admin role. Users the
 * directory does not know, and session ids that do not belong to the named user, are 404.
 * @example app.use('/auth', adminRoutes(sessions, users));
 */
export function adminRoutes(manager: SessionManager, users: UserDirectory): Router {
  const router = express.Router();
  const admin = [manager.authenticate(), manager.requireRole('admin')];
  router.use('/users', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  /** The user named in the path, or undefined once a 404 has been sent. */
  const userOf = (req: Request, res: Response): string | undefined => {
    const userId = String(req.params.userId);
    if (users.has(userId)) return userId;
    notFound(res);
    return undefined;
  };
  /** The session named in the path when it belongs to the user named in the path. */
  const sessionOf = (req: Request, res: Response): string | undefined => {
    const userId = userOf(req, res);
    if (userId === undefined) return undefined;
    const sessionId = String(req.params.sessionId);
    if (parseSessionId(sessionId)?.userId === userId) return sessionId;
    notFound(res);
    return undefined;
  };

  router.get(
    '/users/:userId/sessions',
    ...admin,
    handler(manager, async (req, res) => {
      const userId = userOf(req, res);
      if (userId === undefined) return;
      const sessions = await manager.listForUser(userId);
      res.json({ sessions: sessions.map(describeSession) });
    }),
  );

  router.delete(
    '/users/:userId/sessions',
    ...admin,
    handler(manager, async (req, res) => {
      const userId = userOf(req, res);
      if (userId === undefined) return;
      res.json({ revoked: await manager.revokeAllForUser(userId) });
    }),
  );

  router.delete(
    '/users/:userId/sessions/:sessionId',
    ...admin,
    handler(manager, async (req, res) => {
      const sessionId = sessionOf(req, res);
      if (sessionId === undefined) return;
      if (!(await manager.revoke(sessionId))) return notFound(res);
      res.status(204).end();
    }),
  );

  // "Sign out the user's other devices": every session of the user but this one.
  router.delete(
    '/users/:userId/sessions/:sessionId/others',
    ...admin,
    handler(manager, async (req, res) => {
      const sessionId = sessionOf(req, res);
      if (sessionId === undefined) return;
      if (!(await manager.get(sessionId))) return notFound(res);
      res.json({ revoked: await manager.revokeOtherSessions(sessionId) });
    }),
  );

  router.put(
    '/users/:userId/roles',
    ...admin,
    express.json({ limit: '2kb' }),
    handler(manager, async (req, res) => {
      const roles = (req.body as { roles?: unknown } | undefined)?.roles;
      if (
        !Array.isArray(roles) ||
        roles.length > 8 ||
        !roles.every((r) => typeof r === 'string' && KNOWN_ROLES.has(r))
      ) {
        res.status(400).json({
          error: 'bad_request',
          message: `roles must be an array of: ${[...KNOWN_ROLES].join(', ')}`,
        });
        return;
      }
      const userId = userOf(req, res);
      if (userId === undefined) return;
      await manager.updateUser(userId, { roles });
      res.status(204).end();
    }),
  );
  return router;
}
