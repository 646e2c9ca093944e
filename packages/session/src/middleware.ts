import { type RedisGuard, sendServiceUnavailable } from '@sec/redis-guard';
import { checkOptions } from '@sec/redis-guard/internal';
import type { Request, RequestHandler, Response } from 'express';
import { SessionArgumentError } from './errors.js';
import { assertRoles } from './ids.js';
import { DEFAULT_REALM } from './manager-options.js';
import type { RequestPath } from './request-path.js';

/**
 * Options of authenticate().
 * @example app.get('/feed', sessions.authenticate({ optional: true }), (req, res) => res.json({ personal: Boolean(req.auth) }));
 */
export interface AuthenticateOptions {
  /** Let requests without any token through unauthenticated (`req.auth` unset). An invalid token is still a 401. */
  readonly optional?: boolean;
}

/**
 * 401 with an RFC 6750 challenge. The body says only `invalid_token`, whatever the reason: the
 * reason is in the log, not in the hands of whoever is probing.
 * @example sendUnauthorized(res, 'api', true);
 */
export function sendUnauthorized(res: Response, realm: string, invalid: boolean): void {
  res
    .status(401)
    .set(
      'WWW-Authenticate',
      invalid ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`,
    )
    .set('Cache-Control', 'no-store')
    .json({ error: invalid ? 'invalid_token' : 'unauthorized' });
}

/**
 * 403 for a cookie-authenticated state-changing request from an untrusted origin.
 */
export function sendCrossOrigin(res: Response): void {
  res.status(403).set('Cache-Control', 'no-store').json({ error: 'cross_origin_request' });
}

/**
 * The authenticate() middleware: runs the request path (token, then the session record in Redis)
 * on every request and answers its outcome. 401 for anything wrong with the token or session; 403
 * for a cookie-authenticated state-changing request from an untrusted origin; 503 (never 401,
 * never 500) when the session store cannot answer, in every environment: an outage must not log
 * anyone in or out. The request path has already logged the refusal.
 */
export function createAuthenticate(
  path: RequestPath,
  guard: RedisGuard,
  realm: string,
  options: AuthenticateOptions = {},
): RequestHandler {
  checkOptions('authenticate', options, { optional: 'boolean' });
  const optional = options.optional === true;
  return (req: Request, res, next) => {
    path.authenticate(req).then((outcome) => {
      switch (outcome.kind) {
        case 'authenticated':
          req.auth = outcome.auth;
          return next();
        case 'refused': {
          const { reason } = outcome.error;
          if (optional && reason === 'missing') return next();
          return sendUnauthorized(res, realm, reason !== 'missing');
        }
        case 'forbidden':
          return sendCrossOrigin(res);
        case 'unavailable':
          return sendServiceUnavailable(res, guard, 'session');
      }
    }, next);
  };
}

/**
 * requireRole with the realm used in its 401 challenge; the manager passes its own.
 */
export function createRoleGuard(realm: string, roles: readonly string[]): RequestHandler {
  if (roles.length === 0) throw new SessionArgumentError('roles', 'requireRole() needs at least one role');
  const wanted = assertRoles(roles);
  return (req, res, next) => {
    const auth = req.auth;
    if (!auth) return sendUnauthorized(res, realm, false);
    if (wanted.some((role) => auth.roles.includes(role))) return next();
    res.status(403).set('Cache-Control', 'no-store').json({ error: 'forbidden' });
  };
}

/**
 * 403 unless the authenticated user has at least one of the roles (401 when authenticate() did
 * not run or let the request through unauthenticated). Roles are read from Redis on each request.
 * @example app.delete('/users/:id', sessions.authenticate(), requireRole('admin'), handler);
 */
export function requireRole(...roles: string[]): RequestHandler {
  return createRoleGuard(DEFAULT_REALM, roles);
}
