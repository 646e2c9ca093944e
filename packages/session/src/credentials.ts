import type { IncomingMessage } from 'node:http';
import { type ResolvedCookie, readCookie } from './cookies.js';
import { InvalidTokenError } from './errors.js';
import { MAX_TOKEN_BYTES } from './tokens.js';

const BEARER = /^Bearer[ ]+([^ ]+)[ ]*$/i;

/**
 * The access token of a request: the `Authorization: Bearer` header first, then (when cookies
 * are on) the session cookie. A header that says Bearer but is malformed or oversized is refused
 * outright, never skipped in favour of the cookie. Throws InvalidTokenError('missing' | 'oversized' | 'malformed').
 * @example const token = extractToken(req, undefined);
 */
export function extractToken(req: IncomingMessage, cookie: ResolvedCookie | undefined): string {
  const header = req.headers.authorization;
  if (header !== undefined && /^bearer(?:\s|$)/i.test(header)) {
    if (header.length > MAX_TOKEN_BYTES + 'Bearer '.length) throw new InvalidTokenError('oversized');
    const match = BEARER.exec(header);
    if (!match) throw new InvalidTokenError('malformed');
    return match[1]!;
  }
  const fromCookie = cookie ? readCookie(req, cookie) : undefined;
  if (fromCookie === undefined || fromCookie === '') throw new InvalidTokenError('missing');
  return fromCookie;
}
