import type { IncomingMessage } from 'node:http';
import { type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import { type RedisWork, scrubError, withSpan } from '@sec/redis-guard/internal';
import type { AuthContext } from './auth-context.js';
import type { ResolvedCookie } from './cookies.js';
import { extractToken, type RequestToken } from './credentials.js';
import { type CrossOriginRequestError, InvalidTokenError } from './errors.js';
import { assertTrustedOrigin, isUnsafeMethod } from './origin.js';
import { isLive } from './record.js';
import type { RefusalLog } from './refusals.js';
import type { ParsedSessionId } from './session-id.js';
import type { SessionLookup, SessionStore } from './store.js';
import type { AccessTokenClaims, TokenCodec } from './tokens.js';

/**
 * How a request's authentication ended. Refusals are values, not exceptions, so each caller maps
 * them once: authenticate() to a response, authenticateRequest() and verifyRequestToken() to a
 * rejection.
 * - `authenticated`: the token and its session are valid;
 * - `refused`: 401, anything wrong with the token or the session (`error.reason` says what);
 * - `forbidden`: 403, a cookie-authenticated state-changing request or upgrade from an untrusted origin;
 * - `unavailable`: 503, the session store could not answer (`error` is what it failed with).
 */
export type RequestOutcome =
  | { readonly kind: 'authenticated'; readonly auth: AuthContext }
  | { readonly kind: 'refused'; readonly error: InvalidTokenError }
  | { readonly kind: 'forbidden'; readonly error: CrossOriginRequestError }
  | { readonly kind: 'unavailable'; readonly error: unknown };

/**
 * What step 4 decides from a lookup: the session may be used (and whether its idle expiry is due
 * a slide), or not (and whether its record has expired, so it may be deleted).
 */
export type SessionVerdict =
  | {
      readonly ok: true;
      readonly roles: readonly string[];
      readonly authAt: number;
      /** `lastSeenAt` is at least `touchAfterMs` old: slide it. */
      readonly touch: boolean;
    }
  | {
      readonly ok: false;
      /** The record is there but expired (or not a record): delete it. */
      readonly drop: boolean;
    };

/**
 * Step 4's judgement, a pure function of what the store returned: the record must exist, be live
 * at `now`, and (for a token) hold the hash of the token's `jti`, so a token whose session was
 * revoked and replaced never passes. With RedisSessionStore.lookupQuery() this is the session
 * check as "a command to send, then a decision from its reply", ready to share a pipeline.
 */
export function authorize(
  found: SessionLookup,
  tokenHash: string | undefined,
  now: number,
  touchAfterMs: number,
): SessionVerdict {
  const { session } = found;
  if (!session || !isLive(session, now)) return { ok: false, drop: found.exists };
  if (tokenHash !== undefined && session.tokenHash !== tokenHash) return { ok: false, drop: false };
  return {
    ok: true,
    roles: found.roles,
    authAt: session.authAt,
    touch: now - session.lastSeenAt >= touchAfterMs,
  };
}

/** The session check of one request, waiting for its lookup (see RequestPath.plan). */
export interface SessionPlan {
  readonly work: RedisWork<SessionLookup>;
  finish(found: SessionLookup): Promise<RequestOutcome>;
  fail(error: unknown): RequestOutcome;
}

/**
 * What the request path needs; built once by createSessionManager().
 */
export interface RequestPathSettings {
  readonly cookie: ResolvedCookie | undefined;
  readonly codec: TokenCodec;
  readonly store: SessionStore;
  readonly guard: RedisGuard;
  readonly refusals: RefusalLog;
  /** Slide `lastSeenAt` only when it is at least this old: bounded writes per session. */
  readonly touchAfterMs: number;
  readonly now: () => number;
}

/**
 * The session request path, each step once and in this order:
 * 1. credentials: the token from `Authorization: Bearer`, else the session cookie;
 * 2. origin: a cookie-authenticated state-changing request or upgrade must come from a trusted
 *    origin (before anything touches Redis);
 * 3. token: signature, algorithm, `kid`, `iss`, `aud`, `exp`, `nbf`, `iat` (jose);
 * 4. session: one lookup (record and roles, one read-only script), judged by authorize();
 * 5. touch: a second, atomic write only when the idle expiry is due a slide (at most once per
 *    `touchAfterMs`), or a delete when the record has expired;
 * then one outcome. Every refusal is logged here, once (RefusalLog).
 */
export interface RequestPath {
  /** Steps 1 to 5: for authenticate(), the router and WebSocket upgrades. */
  authenticate(req: IncomingMessage): Promise<RequestOutcome>;
  /**
   * Steps 1 to 3, then step 4 as work for a shared pipeline (combined admission): the outcome when
   * the request is decided without Redis (no token, a refused one, a memory store), else the lookup
   * and how to finish (steps 4 and 5) from what it found, or from its failure.
   */
  plan(req: IncomingMessage): Promise<RequestOutcome | SessionPlan>;
  /** Steps 3 to 5, for a token the caller already holds. */
  verifyToken(token: unknown): Promise<RequestOutcome>;
  /** Steps 4 and 5 for a session id (no token): true while the session is live. Rejects when the store cannot answer. */
  refresh(ref: ParsedSessionId): Promise<boolean>;
  /** Step 4 for many sessions at once, reads only: which are still live. For bound connections' re-checks. */
  confirm(refs: readonly ParsedSessionId[]): Promise<boolean[]>;
}

/**
 * Builds the request path of one session manager.
 */
export function createRequestPath(settings: RequestPathSettings): RequestPath {
  const { cookie, codec, store, guard, refusals, touchAfterMs, now } = settings;

  const refused = (presented: string | undefined, error: InvalidTokenError): RequestOutcome => {
    if (presented) refusals.token(presented, error.reason);
    return { kind: 'refused', error };
  };

  const unavailable = (error: unknown): RequestOutcome => {
    // An outage is the guard's to report; anything else (a script or data error) is told once here.
    if (!(error instanceof RedisUnavailableError)) refusals.storeError(scrubError(error, guard.secrets()));
    return { kind: 'unavailable', error };
  };

  /** Step 1: the token and where it came from, or the refusal. */
  const credentials = (req: IncomingMessage): RequestToken | RequestOutcome => {
    try {
      return extractToken(req, cookie);
    } catch (thrown) {
      const error = thrown as InvalidTokenError;
      // What was refused: the header, or the whole Cookie header when it held the cookie twice.
      const presented =
        error.reason === 'missing'
          ? undefined
          : error.reason === 'ambiguous_cookie'
            ? req.headers.cookie
            : req.headers.authorization;
      return refused(presented, error);
    }
  };

  /**
   * Step 2. A WebSocket upgrade is a GET, but it opens a channel that acts as the user: checked
   * too, or a page of another origin could open one with the cookie (cross-site WebSocket hijacking).
   */
  const origin = (req: IncomingMessage, presented: RequestToken): RequestOutcome | undefined => {
    if (!presented.fromCookie || !cookie?.originCheck) return undefined;
    if (!isUnsafeMethod(req.method) && req.headers.upgrade === undefined) return undefined;
    try {
      assertTrustedOrigin(req, cookie);
      return undefined;
    } catch (thrown) {
      const error = thrown as CrossOriginRequestError;
      refusals.crossOrigin(error.origin, req.method ?? '');
      return { kind: 'forbidden', error };
    }
  };

  /** Step 4's judgement of what the lookup found, and step 5. */
  const judge = async (
    claims: AccessTokenClaims,
    token: string,
    at: number,
    found: SessionLookup,
  ): Promise<RequestOutcome> => {
    const ref = { userId: claims.userId, handle: claims.handle };
    try {
      const verdict = authorize(found, claims.tokenHash, at, touchAfterMs);
      if (!verdict.ok) {
        // Best effort: the refusal stands whether or not the dead record could be deleted now.
        if (verdict.drop) await store.dropExpired(ref, at).catch(() => undefined);
        return refused(token, new InvalidTokenError('unknown_session'));
      }
      // Revoked between the lookup and the touch: the revocation wins.
      if (verdict.touch && !(await store.touch(ref, at)))
        return refused(token, new InvalidTokenError('unknown_session'));
      return {
        kind: 'authenticated',
        auth: {
          userId: claims.userId,
          sessionId: claims.sessionId,
          roles: verdict.roles,
          authenticatedAt: new Date(verdict.authAt),
        },
      };
    } catch (error) {
      return unavailable(error);
    }
  };

  /** Steps 4 and 5 for verified claims. */
  const session = async (claims: AccessTokenClaims, token: string, at: number): Promise<RequestOutcome> => {
    let found: SessionLookup;
    try {
      found = await store.lookup({ userId: claims.userId, handle: claims.handle });
    } catch (error) {
      return unavailable(error);
    }
    return judge(claims, token, at, found);
  };

  /** Step 3: the claims, or the refusal. */
  const verifyClaims = async (token: string, at: number): Promise<AccessTokenClaims | RequestOutcome> => {
    try {
      return await codec.verify(token, at);
    } catch (error) {
      return error instanceof InvalidTokenError ? refused(token, error) : unavailable(error);
    }
  };

  /** Steps 3 to 5. */
  const verifyToken = async (token: unknown): Promise<RequestOutcome> => {
    if (typeof token !== 'string') return refused(undefined, new InvalidTokenError('malformed'));
    const at = now();
    const claims = await verifyClaims(token, at);
    return 'kind' in claims ? claims : session(claims, token, at);
  };

  return {
    authenticate(req) {
      // One span per request check; its attributes say how it ended, never what was presented.
      return withSpan(
        '@sec/session',
        'sec.session.check',
        {},
        async () => {
          const presented = credentials(req);
          if ('kind' in presented) return presented;
          return origin(req, presented) ?? verifyToken(presented.token);
        },
        (outcome) => ({
          'sec.session.outcome': outcome.kind,
          ...(outcome.kind === 'refused' && { 'sec.error': outcome.error.code }),
        }),
      );
    },

    verifyToken,

    async plan(req) {
      const presented = credentials(req);
      if ('kind' in presented) return presented;
      const forbidden = origin(req, presented);
      if (forbidden) return forbidden;
      const { token } = presented;
      const at = now();
      const claims = await verifyClaims(token, at);
      if ('kind' in claims) return claims;
      const work = store.lookupWork?.({ userId: claims.userId, handle: claims.handle });
      if (!work) return session(claims, token, at);
      return { work, finish: (found) => judge(claims, token, at, found), fail: unavailable };
    },

    async refresh(ref) {
      const at = now();
      const verdict = authorize(await store.lookup(ref), undefined, at, touchAfterMs);
      if (!verdict.ok) {
        if (verdict.drop) await store.dropExpired(ref, at);
        return false;
      }
      return !verdict.touch || store.touch(ref, at);
    },

    async confirm(refs) {
      const at = now();
      const records = await store.lookupRecords(refs);
      return records.map((record) => record !== undefined && isLive(record, at));
    },
  };
}
