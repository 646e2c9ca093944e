import type { IncomingMessage } from 'node:http';
import { ConfigurationError, type Environment, isStrictEnvironment, OptionError } from '@sec/redis-guard';
import { checkOptions } from '@sec/redis-guard/internal';
import type { Response } from 'express';
import { SessionErrorCode as Code, InvalidTokenError } from './errors.js';

/**
 * Name of the session cookie when it is Secure, host-only and `Path=/` (the default). The
 * `__Host-` prefix makes browsers refuse the cookie from anywhere but this host over HTTPS, so a
 * sibling subdomain cannot plant one (cookie tossing). With a `domain` or another `path` the
 * default is `__Secure-sec_session`; without `secure` (development only) `sec_session`.
 */
export const DEFAULT_COOKIE_NAME = '__Host-sec_session';
const BASE_NAME = 'sec_session';

/**
 * HttpOnly is not an option: a session token readable from JavaScript is one XSS away from theft.
 * @example const cookie: SessionCookieOptions = { sameSite: 'strict', trustedOrigins: ['https://app.example.com'] };
 */
export interface SessionCookieOptions {
  /** Default '__Host-sec_session' (see DEFAULT_COOKIE_NAME). `__Host-` / `__Secure-` rules are enforced. */
  readonly name?: string;
  /** Default true; false only outside production and staging. */
  readonly secure?: boolean;
  /** Default 'lax'. 'none' sends the cookie on cross-site requests, so it needs `originCheck`. */
  readonly sameSite?: 'lax' | 'strict' | 'none';
  /** Share the cookie with subdomains; not allowed with a `__Host-` name. */
  readonly domain?: string;
  /** Default '/'. */
  readonly path?: string;
  /**
   * Default true: a request authenticated by the cookie with a method other than GET, HEAD or
   * OPTIONS must come from this host or a trusted origin (Origin header, or Sec-Fetch-Site when
   * there is no Origin), or it is refused with 403. Bearer-header requests are not affected.
   */
  readonly originCheck?: boolean;
  /** Other origins whose pages may send such requests, e.g. 'https://app.example.com'. */
  readonly trustedOrigins?: readonly string[];
}

/**
 * Cookie settings after validation, with defaults applied.
 */
export interface ResolvedCookie {
  readonly name: string;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly domain: string | undefined;
  readonly path: string;
  readonly originCheck: boolean;
  /** Lower-case serialised origins (`https://host[:port]`). */
  readonly trustedOrigins: ReadonlySet<string>;
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

function prefixError(name: string, rule: string): ConfigurationError {
  return new ConfigurationError(
    Code.CookiePrefix,
    `cookie "${name}": ${rule}. Browsers silently drop such a cookie, so nobody could stay logged in.`,
    'cookie.name',
  );
}

/**
 * Browsers enforce the name prefixes (case-insensitively in current browsers): `__Secure-` needs
 * Secure; `__Host-` needs Secure, no Domain and `Path=/`. A violation would only show up as
 * logins that never stick, so it is refused here.
 */
function assertCookiePrefix(name: string, secure: boolean, domain: string | undefined, path: string): void {
  const lower = name.toLowerCase();
  if (lower.startsWith('__host-')) {
    if (!secure) throw prefixError(name, 'a __Host- cookie must be Secure');
    if (domain !== undefined) throw prefixError(name, 'a __Host- cookie cannot have a domain');
    if (path !== '/') throw prefixError(name, "a __Host- cookie must have path '/'");
  } else if (lower.startsWith('__secure-') && !secure) {
    throw prefixError(name, 'a __Secure- cookie must be Secure');
  }
}

function parseTrustedOrigins(value: readonly string[]): ReadonlySet<string> {
  const origins = new Set<string>();
  for (const entry of value) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if ((url.protocol === 'https:' || url.protocol === 'http:') && url.origin === entry.toLowerCase())
        origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (!origin) {
      throw new OptionError(
        'cookie.trustedOrigins',
        `cookie.trustedOrigins: "${entry}" is not an origin; write it as scheme://host[:port], without a path or a trailing slash`,
      );
    }
    origins.add(origin);
  }
  return origins;
}

/**
 * Validates the cookie settings at creation; undefined when cookies are off.
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
    originCheck: 'boolean',
    trustedOrigins: 'array',
  });
  const sameSite = options.sameSite ?? 'lax';
  if (!['lax', 'strict', 'none'].includes(sameSite)) {
    throw new OptionError(
      'cookie.sameSite',
      `cookie.sameSite must be 'lax', 'strict' or 'none', got "${sameSite}"`,
    );
  }
  const path = options.path ?? '/';
  if (!/^\/[\x21-\x3a\x3c-\x7e]*$/.test(path))
    throw new OptionError('cookie.path', 'cookie.path must start with / and contain no ; or spaces');
  const secure = options.secure ?? true;
  const name =
    options.name ??
    (!secure
      ? BASE_NAME
      : options.domain === undefined && path === '/'
        ? DEFAULT_COOKIE_NAME
        : `__Secure-${BASE_NAME}`);
  if (!COOKIE_NAME.test(name))
    throw new OptionError('cookie.name', `cookie name "${name}" is not a valid cookie token`);
  if (!secure && (isStrictEnvironment(environment) || sameSite === 'none')) {
    throw new ConfigurationError(
      Code.InsecureCookie,
      `cookie.secure: false is refused ${sameSite === 'none' ? "with sameSite 'none'" : `in ${environment}`}: ` +
        'the session token would travel over plain HTTP. Remove `secure: false`.',
      'cookie.secure',
    );
  }
  assertCookiePrefix(name, secure, options.domain, path);
  const originCheck = options.originCheck ?? true;
  if (!originCheck && sameSite === 'none') {
    throw new ConfigurationError(
      Code.CookieUnprotected,
      "cookie.sameSite 'none' sends the cookie with requests from any site, so the origin check is what " +
        'stops cross-site requests from acting as the user. Remove `originCheck: false`.',
      'cookie.originCheck',
    );
  }
  const trustedOrigins = parseTrustedOrigins(options.trustedOrigins ?? []);
  return { name, secure, sameSite, domain: options.domain, path, originCheck, trustedOrigins };
}

/**
 * The token from the Cookie header, or undefined. A request carrying the session cookie more than
 * once is refused (InvalidTokenError 'ambiguous_cookie'): browsers send every matching cookie
 * (other paths, a parent domain), and picking one would let a planted cookie log the victim into
 * someone else's account.
 */
export function readCookie(req: IncomingMessage, cookie: ResolvedCookie): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const prefix = `${cookie.name}=`;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const item = part.trim();
    if (!item.startsWith(prefix)) continue;
    if (found !== undefined) throw new InvalidTokenError('ambiguous_cookie');
    found = item.slice(prefix.length);
  }
  return found;
}

/**
 * Sets the HttpOnly session cookie, expiring with the session.
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
