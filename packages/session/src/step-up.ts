import type { RequestHandler, Response } from 'express';
import { sendUnauthorized } from './middleware.js';

/**
 * 401 with the RFC 9470 step-up challenge: the token is valid, but the user last proved who they
 * are too long ago for this action. A client answers by asking the user to re-authenticate
 * (the router's `POST /reauthenticate`) and retrying.
 */
export function sendInsufficientAuthentication(res: Response, realm: string, maxAgeSeconds: number): void {
  res
    .status(401)
    .set(
      'WWW-Authenticate',
      `Bearer realm="${realm}", error="insufficient_user_authentication", ` +
        `error_description="A more recent authentication is required", max_age="${maxAgeSeconds}"`,
    )
    .set('Cache-Control', 'no-store')
    .json({ error: 'insufficient_user_authentication', maxAge: maxAgeSeconds });
}

/**
 * The requireRecentAuth() middleware: after authenticate(), lets the request through only when
 * the session's last authentication (login or re-authentication) is at most `maxAgeMs` old.
 */
export function createRecentAuthGuard(realm: string, maxAgeMs: number, now: () => number): RequestHandler {
  const maxAgeSeconds = Math.floor(maxAgeMs / 1000);
  return (req, res, next) => {
    const auth = req.auth;
    if (!auth) return sendUnauthorized(res, realm, false);
    if (now() - auth.authenticatedAt.getTime() <= maxAgeMs) return next();
    sendInsufficientAuthentication(res, realm, maxAgeSeconds);
  };
}
