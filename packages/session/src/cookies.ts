import type { IncomingMessage } from 'node:http';
import {
  ConfigurationError,
  checkOptions,
  type Environment,
  isStrictEnvironment,
  OptionError,
} from '@sec/redis-guard';
import type { Response } from 'express';
import { SessionErrorCode as Code } from './errors.js';

/**
 * Name of the session cookie unless `cookie.name` says otherwise.
 * @example createSessionManager({ ...options, cookie: { name: DEFAULT_COOKIE_NAME } });
 */
export const DEFAULT_COOKIE_NAME = 'sec_session';

/**
 * HttpOnly is not an option: a session token readable from JavaScript is one XSS away from theft.
 * @example createSessionManager({ ...options, cookie: { name: '__Host-session', sameSite: 'strict' } });
 */
export interface SessionCookieOptions {
  /** Default 'sec_session'. Prefer '__Host-session' when served over HTTPS on one host. */
  readonly name?: string;
  /** Default true; false only outside production and staging. */
  readonly secure?: boolean;
  /** Default 'lax': the cookie is not sent on cross-site POSTs, the main CSRF vector. */
  readonly sameSite?: 'lax' | 'strict' | 'none';
  readonly domain?: string;
  /** Default '/'. */
  readonly path?: string;
}

/**
 * Cookie settings after validation, with defaults applied.
 * @example sessions.cookie?.name // 'sec_session'
 */
export interface ResolvedCookie {
  readonly name: string;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly domain: string | undefined;
  readonly path: string;
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

/**
 * Validates the cookie settings at creation; undefined when cookies are off.
 * @example resolveCookie(true, 'production') // { name: 'sec_session', secure: true, sameSite: 'lax', … }
 */
export function resolveCookie(
  option: boolean | SessionCookieOptions | undefined,
  environment: Environment,
): ResolvedCookie | undefined {
  if (!option) return undefined;
  const options = option === true ? {} : option;
  checkOptions('createSessionManager({ cookie })', options, {
    name: 'string',
    secure: 'boolean',
    sameSite: 'string',
    domain: 'string',
    path: 'string',
  });
  const name = options.name ?? DEFAULT_COOKIE_NAME;
  if (!COOKIE_NAME.test(name))
    throw new OptionError('cookie.name', `cookie name "${name}" is not a valid cookie token`);
  const sameSite = options.sameSite ?? 'lax';
  if (!['lax', 'strict', 'none'].includes(sameSite)) {
    throw new OptionError(
      'cookie.sameSite',
      `cookie.sameSite must be 'lax', 'strict' or 'none', got "${sameSite}"`,
    );
  }
  const secure = options.secure ?? true;
  if (!secure && (isStrictEnvironment(environment) || sameSite === 'none' || name.startsWith('__'))) {
    throw new ConfigurationError(
      Code.InsecureCookie,
      `cookie.secure: false is refused ${sameSite === 'none' ? "with sameSite 'none'" : name.startsWith('__') ? `for a "${name}" cookie` : `in ${environment}`}: ` +
        'the session token would travel over plain HTTP. Remove `secure: false`.',
      'cookie.secure',
    );
  }
  const path = options.path ?? '/';
  if (!/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path))
    throw new OptionError('cookie.path', 'cookie.path must start with / and contain no ; or spaces');
  return { name, secure, sameSite, domain: options.domain, path };
}

/**
 * The token from the Cookie header, or undefined. Only characters a JWT can contain are accepted,
 * so nothing else reaches the verifier.
 * @example readCookie(req, cookie) // 'eyJ…' | undefined
 */
export function readCookie(req: IncomingMessage, cookie: ResolvedCookie): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const prefix = `${cookie.name}=`;
  for (const part of header.split(';')) {
    const item = part.trim();
    if (item.startsWith(prefix)) return item.slice(prefix.length);
  }
  return undefined;
}

/**
 * Sets the HttpOnly session cookie, expiring with the session.
 * @example setSessionCookie(res, cookie, session.accessToken, session.expiresAt.getTime());
 */
export function setSessionCookie(
  res: Response,
  cookie: ResolvedCookie,
  token: string,
  expiresAt: number,
): void {
  res.cookie(cookie.name, token, {
    httpOnly: true,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    path: cookie.path,
    expires: new Date(expiresAt),
    encode: String,
    ...(cookie.domain !== undefined && { domain: cookie.domain }),
  });
}

/**
 * Clears the session cookie with the attributes it was set with (browsers match on them).
 * @example clearSessionCookie(res, cookie);
 */
export function clearSessionCookie(res: Response, cookie: ResolvedCookie): void {
  res.clearCookie(cookie.name, {
    httpOnly: true,
    secure: cookie.secure,
    sameSite: cookie.sameSite,
    path: cookie.path,
    ...(cookie.domain !== undefined && { domain: cookie.domain }),
  });
}
