import { SecError } from '@sec/redis-guard';

/**
 * Every code thrown by @sec/session (each is in the README's table), and the type of those codes.
 * @example
 * try {
 *   createSessionManager({ redis: guard, signingKeys: [{ kid: '1', secret: 'short' }], issuer: 'a', audience: 'b' });
 * } catch (error) {
 *   if (error instanceof SecError && error.code === SessionErrorCode.KeyTooShort) console.error('SESSION_SECRET is too short');
 *   throw error;
 * }
 */
export const SessionErrorCode = {
  InvalidToken: 'ERR_SEC_SESSION_INVALID_TOKEN',
  InvalidArgument: 'ERR_SEC_SESSION_INVALID_ARGUMENT',
  KeyInvalid: 'ERR_SEC_SESSION_KEY_INVALID',
  KeyTooShort: 'ERR_SEC_SESSION_KEY_TOO_SHORT',
  SecretMissing: 'ERR_SEC_SESSION_SECRET_MISSING',
  DuplicateKid: 'ERR_SEC_SESSION_DUPLICATE_KID',
  FirstKeyCannotSign: 'ERR_SEC_SESSION_FIRST_KEY_CANNOT_SIGN',
  InvalidTimeouts: 'ERR_SEC_SESSION_INVALID_TIMEOUTS',
  InsecureCookie: 'ERR_SEC_SESSION_INSECURE_COOKIE',
  NotReplicated: 'ERR_SEC_SESSION_NOT_REPLICATED',
  SessionLimit: 'ERR_SEC_SESSION_LIMIT_REACHED',
  CrossOrigin: 'ERR_SEC_SESSION_CROSS_ORIGIN',
  CookiePrefix: 'ERR_SEC_SESSION_COOKIE_PREFIX',
  CookieUnprotected: 'ERR_SEC_SESSION_COOKIE_UNPROTECTED',
  DataTooLarge: 'ERR_SEC_SESSION_DATA_TOO_LARGE',
} as const;

export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode];

declare module '@sec/redis-guard' {
  interface SecErrorCodes extends Record<SessionErrorCode, true> {}
}

/**
 * Why a token was refused. Logged (once per token) for operators; never sent to the client,
 * which only ever sees `invalid_token`.
 * @example
 * sessions.verifyRequestToken(token).catch((error) => {
 *   if (error instanceof InvalidTokenError) console.log(error.reason satisfies TokenRejection);
 * });
 */
export type TokenRejection =
  | 'missing'
  | 'oversized'
  | 'malformed'
  | 'unknown_kid'
  | 'algorithm'
  | 'signature'
  | 'claims'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'subject_mismatch'
  | 'unknown_session'
  /** More than one session cookie in one request: one of them may have been planted. */
  | 'ambiguous_cookie';

/**
 * The access token is missing, malformed, forged, expired, or names a session that no longer
 * exists. HTTP status 401 with a `WWW-Authenticate` challenge; `reason` is for logs only.
 * @example
 * try {
 *   await sessions.verifyRequestToken(token);
 * } catch (error) {
 *   if (error instanceof InvalidTokenError) socket.destroy();
 * }
 */
export class InvalidTokenError extends SecError {
  readonly reason: TokenRejection;

  constructor(reason: TokenRejection) {
    // 401 with an RFC 6750 challenge; not exposed, because the message names the reason.
    super(SessionErrorCode.InvalidToken, `access token rejected (${reason})`, {
      status: 401,
      expose: false,
      headers: { 'WWW-Authenticate': reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"' },
    });
    this.reason = reason;
  }
}

/**
 * A method was called with a malformed user id, session id, role or metadata, thrown before Redis
 * is touched. HTTP status 400 (the message says what is wrong, never echoing the value).
 * @example await sessions.create('bad{id}') // throws SessionArgumentError (ERR_SEC_SESSION_INVALID_ARGUMENT)
 */
export class SessionArgumentError extends SecError {
  readonly argument: string;

  constructor(argument: string, message: string) {
    // 400: when an app passes a request value on (a session id from the URL), it was malformed.
    super(SessionErrorCode.InvalidArgument, message, { status: 400 });
    this.argument = argument;
  }
}

/**
 * create() under `sessionLimitPolicy: 'refuse'` for a user who already holds maxSessionsPerUser
 * live sessions. The router answers 409 `{ error: 'session_limit_reached' }`.
 * @example
 * try {
 *   await sessions.create(userId);
 * } catch (error) {
 *   if (error instanceof SessionLimitError) res.status(409).json({ error: 'session_limit_reached' });
 * }
 */
export class SessionLimitError extends SecError {
  readonly limit: number;

  constructor(limit: number) {
    super(
      SessionErrorCode.SessionLimit,
      `the user already has ${limit} live sessions (maxSessionsPerUser); sign out elsewhere first`,
    );
    this.limit = limit;
  }
}

/**
 * A state-changing request authenticated by the session cookie came from an origin that is not
 * trusted (a cross-site request forgery attempt, or a page of another origin). Answer 403.
 * @example if (error instanceof CrossOriginRequestError) res.status(403).json({ error: 'cross_origin_request' });
 */
export class CrossOriginRequestError extends SecError {
  /** The Origin header, or `Sec-Fetch-Site: <value>` when only that was sent. */
  readonly origin: string;

  constructor(origin: string) {
    super(SessionErrorCode.CrossOrigin, `cross-origin request refused (${origin})`);
    this.origin = origin;
  }
}

/**
 * Which bound of a session's data a write would exceed (see the `sessionData` option).
 * @example if (error instanceof SessionDataLimitError && error.limit === 'fields') res.status(413).end();
 */
export type SessionDataLimit = 'fields' | 'valueBytes' | 'totalBytes';

/**
 * A write to a session's data would exceed `sessionData.maxFields`, `maxValueBytes` or
 * `maxTotalBytes`; nothing was written. HTTP status 413, message safe to send (it names the bound,
 * never the value).
 * @example
 * try {
 *   await sessions.data(req.auth!.sessionId).set('cart', req.body);
 * } catch (error) {
 *   if (error instanceof SessionDataLimitError) res.status(413).json({ error: 'cart_too_large' });
 * }
 */
export class SessionDataLimitError extends SecError {
  readonly limit: SessionDataLimit;
  /** The bound in force: a number of fields or of bytes. */
  readonly max: number;

  constructor(limit: SessionDataLimit, max: number) {
    const what =
      limit === 'fields'
        ? `more than ${max} fields`
        : limit === 'valueBytes'
          ? `a value over ${max} bytes`
          : `more than ${max} bytes in all`;
    super(
      SessionErrorCode.DataTooLarge,
      `session data would hold ${what} (sessionData.${limitOption(limit)})`,
      {
        status: 413,
        expose: true,
      },
    );
    this.limit = limit;
    this.max = max;
  }
}

function limitOption(limit: SessionDataLimit): string {
  return limit === 'fields' ? 'maxFields' : limit === 'valueBytes' ? 'maxValueBytes' : 'maxTotalBytes';
}
