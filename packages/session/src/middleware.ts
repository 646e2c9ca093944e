import type { IncomingMessage } from 'node:http';
import {
  type Logger,
  type RedisGuard,
  RedisUnavailableError,
  sendServiceUnavailable,
} from '@sec/redis-guard';
import { checkOptions, scrubError } from '@sec/redis-guard/internal';
import type { Request, RequestHandler, Response } from 'express';
import type { AuthContext } from './auth-context.js';
import { CrossOriginRequestError, InvalidTokenError, SessionArgumentError } from './errors.js';
import { assertRoles } from './ids.js';
import { DEFAULT_REALM } from './options.js';

/**
 * Options of authenticate().
 * @example app.get('/feed', sessions.authenticate({ optional: true }), (req, res) => res.json({ personal: Boolean(req.auth) }));
 */
export interface AuthenticateOptions {
  /** Let requests without any token through unauthenticated (`req.auth` unset). An invalid token is still a 401. */
  readonly optional?: boolean;
}

/** The part of the manager the middleware needs. */
interface Authenticator {
  readonly guard: RedisGuard;
  readonly realm: string;
  authenticateRequest(req: IncomingMessage): Promise<AuthContext>;
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
 * The authenticate() middleware: verifies the token, then the session record in Redis, on every
 * request. 401 for anything wrong with the token or session; 403 for a cookie-authenticated
 * state-changing request from an untrusted origin; 503 (never 401, never 500) when the session
 * store cannot answer, in every environment: an outage must not log anyone in or out.
 */
export function createAuthenticate(
  manager: Authenticator,
  logger: Logger,
  options: AuthenticateOptions = {},
): RequestHandler {
  checkOptions('authenticate', options, { optional: 'boolean' });
  const optional = options.optional === true;
  const reported = new Set<string>();
  const fail = (res: Response, error: unknown) => {
    if (error instanceof InvalidTokenError)
      return sendUnauthorized(res, manager.realm, error.reason !== 'missing');
    if (error instanceof CrossOriginRequestError) return sendCrossOrigin(res);
    if (!(error instanceof RedisUnavailableError)) {
      // Not an outage (a script or data error): still answer 503, and tell the operator once.
      const safe = scrubError(error, manager.guard.secrets());
      if (!reported.has(safe.message)) {
        reported.add(safe.message);
        logger.error({ event: 'session.store_error', err: safe }, `session check failed: ${safe.message}`);
      }
    }
    sendServiceUnavailable(res, manager.guard, 'session');
  };
  return (req: Request, res, next) => {
    manager.authenticateRequest(req).then(
      (auth) => {
        req.auth = auth;
        next();
      },
      (error: unknown) => {
        if (optional && error instanceof InvalidTokenError && error.reason === 'missing') return next();
        fail(res, error);
      },
    );
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
