import type { IncomingMessage } from 'node:http';
import { type ResolvedCookie, readCookie } from './cookies.js';
import { InvalidTokenError } from './errors.js';
import { MAX_TOKEN_BYTES } from './tokens.js';

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i;

/**
 * A request's access token and where it came from: the origin check applies to cookies only,
 * since a browser never adds an Authorization header to a forged request on its own.
 */
export interface RequestToken {
  readonly token: string;
  readonly fromCookie: boolean;
}

/**
 * The access token of a request: the `Authorization: Bearer` header first, then (when cookies
 * are on) the session cookie. A header that says Bearer but is malformed or oversized is refused
 * outright, never skipped in favour of the cookie. Throws InvalidTokenError('missing' | 'oversized'
 * | 'malformed' | 'ambiguous_cookie').
 */
export function extractToken(req: IncomingMessage, cookie: ResolvedCookie | undefined): RequestToken {
  const header = req.headers.authorization;
  if (header !== undefined && /^bearer(?:\s|$)/i.test(header)) {
    if (header.length > MAX_TOKEN_BYTES + 'Bearer '.length) throw new InvalidTokenError('oversized');
    const match = BEARER.exec(header);
    if (!match) throw new InvalidTokenError('malformed');
    return { token: match[1]!, fromCookie: false };
  }
  const fromCookie = cookie ? readCookie(req, cookie) : undefined;
  if (fromCookie === undefined || fromCookie === '') throw new InvalidTokenError('missing');
  return { token: fromCookie, fromCookie: true };
}
