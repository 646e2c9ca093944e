import type { IncomingMessage } from 'node:http';
import { type Logger, OptionError, type RedisGuard } from '@sec/redis-guard';
import { checkOptions, maskingLogger, toGuard } from '@sec/redis-guard/internal';
import type { RequestHandler, Response } from 'express';
import type { AuthContext, CreatedSession, SessionInfo } from './auth-context.js';
import { clearSessionCookie, type ResolvedCookie, resolveCookie, setSessionCookie } from './cookies.js';
import { type SessionData, sessionData } from './data.js';
import { SessionLimitError } from './errors.js';
import {
  eventChannel,
  logAudit,
  reportAudit,
  type SessionEvent,
  type SessionEventListener,
  stamp,
} from './events.js';
import { assertRoles, assertUserId, encodeMetadata, fingerprint, hashTokenId, randomId } from './ids.js';
import { type ConnectionBinding, type ConnectionTarget, LiveConnections } from './live.js';
import { resolveOptions, type SessionManagerOptions } from './manager-options.js';
import { MemorySessionStore } from './memory-store.js';
import { type AuthenticateOptions, createAuthenticate, createRoleGuard } from './middleware.js';
import { isLive, type StoredSession, sessionInfo } from './record.js';
import { RedisSessionStore } from './redis-store.js';
import { RefusalLog } from './refusals.js';
import { createRequestPath, type RequestOutcome } from './request-path.js';
import { assertSessionId, newSession, sessionIdPrefix } from './session-id.js';
import { importKeys } from './signing-keys.js';
import { createRecentAuthGuard } from './step-up.js';
import type { SessionStore } from './store.js';
import { createTokenCodec } from './tokens.js';

/**
 * Options of create().
 * @example await sessions.create(userId, { roles: ['editor'], metadata: { userAgent: req.get('user-agent') } });
 */
export interface CreateSessionOptions {
  /** The user's roles; omitted: keep the roles already stored for this user (none for a new user). */
  readonly roles?: readonly string[];
  /** Small JSON object kept with the session (≤ 2 KiB, else SessionArgumentError), e.g. `{ userAgent }`. Never put secrets here. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Sessions backed by Redis (or memory in development), with JWT access tokens.
 * @example await sessions.revokeAllForUser(userId); // every worker refuses the user's tokens from now on
 */
export interface SessionManager {
  readonly guard: RedisGuard;
  /** 'memory' when nothing is shared between processes (development and test only). */
  readonly mode: RedisGuard['mode'];
  readonly cookie: ResolvedCookie | undefined;
  readonly realm: string;
  /**
   * Starts a session. At `maxSessionsPerUser` it revokes the user's least recently used session,
   * or rejects with SessionLimitError under `sessionLimitPolicy: 'refuse'`.
   */
  create(userId: string, options?: CreateSessionOptions): Promise<CreatedSession>;
  get(sessionId: string): Promise<SessionInfo | undefined>;
  /**
   * Slides the idle expiry (never past the absolute one), writing at most once per touchInterval;
   * false when the session is gone. authenticate() already does this on every request.
   */
  touch(sessionId: string): Promise<boolean>;
  /** True when a live session was revoked. Every worker refuses its token from the moment this resolves. */
  revoke(sessionId: string): Promise<boolean>;
  /** Revokes every session of the user in one atomic round trip; resolves to how many were live. */
  revokeAllForUser(userId: string): Promise<number>;
  /** "Sign out other devices": revokes every session of this session's user but this one; resolves to how many were live. */
  revokeOtherSessions(sessionId: string): Promise<number>;
  /** The user's live sessions, oldest first: at most maxSessionsPerUser, read in one bounded script. */
  listForUser(userId: string): Promise<SessionInfo[]>;
  /**
   * Records that the user of this session has just proved who they are again (password, passkey,
   * one-time code: checked by you), so requireRecentAuth() lets them through. False when the
   * session is gone.
   */
  markReauthenticated(sessionId: string): Promise<boolean>;
  /**
   * The data of a session (e.g. `req.auth.sessionId`): JSON values under named fields, each
   * written atomically on its own, bounded by `sessionData`, deleted with the session.
   */
  data(sessionId: string): SessionData;
  /** Replaces the user's roles; every worker sees them on the next request. */
  updateUser(userId: string, update: { readonly roles: readonly string[] }): Promise<void>;
  /** Verifies a token and its session; rejects with InvalidTokenError (401) or RedisUnavailableError (503). */
  verifyRequestToken(token: string): Promise<AuthContext>;
  /**
   * Like verifyRequestToken, reading the token from a request (header, then cookie): for WebSocket
   * upgrades. In cookie mode, a cookie-authenticated upgrade or state-changing request from an
   * untrusted origin rejects with CrossOriginRequestError (403).
   */
  authenticateRequest(req: IncomingMessage): Promise<AuthContext>;
  authenticate(options?: AuthenticateOptions): RequestHandler;
  requireRole(...roles: string[]): RequestHandler;
  /**
   * After authenticate(): 401 with RFC 9470's `insufficient_user_authentication` challenge unless
   * the user logged in or re-authenticated within the last `maxAgeMs` (at least 1000; the
   * challenge's `max_age` is that in whole seconds, rounded down).
   */
  requireRecentAuth(maxAgeMs: number): RequestHandler;
  /**
   * Ties a long-lived connection (a `ws` WebSocket, or a callback) to the session of `auth`: it is
   * closed with 1008 within about `connectionRecheckMs` of a revoke, logout, revoke-all,
   * sign-out-others, eviction or expiry, even if the Pub/Sub message is lost; and with 1013 when
   * Redis cannot confirm the session in production.
   */
  bindConnection(auth: AuthContext, connection: ConnectionTarget): ConnectionBinding;
  /** Logs and publishes a login_failed audit event; `user` is stored only as a fingerprint. */
  recordLoginFailure(details?: { readonly ip?: string; readonly user?: string }): Promise<void>;
  /** Audit events from every process (Redis Pub/Sub), or from this one in memory mode. */
  onEvent(listener: SessionEventListener): () => void;
  setCookie(res: Response, session: CreatedSession): void;
  clearCookie(res: Response): void;
  /** Stops the event subscriber and connection re-checks; closes the guard too when the manager created it. */
  close(): Promise<void>;
}

/** The auth of an authenticated outcome; the refusal or failure as a rejection otherwise. */
function authenticated(outcome: RequestOutcome): AuthContext {
  if (outcome.kind === 'authenticated') return outcome.auth;
  throw outcome.error;
}

/**
 * Creates the session manager. Options are validated and keys imported here, once; a bad key, a
 * missing issuer or an unsafe cookie throws at start-up, never on a request.
 * @example
 * const sessions = createSessionManager({
 *   redis: guard,
 *   signingKeys: [{ kid: '2025-06', secret: process.env.SESSION_SECRET! }],
 *   issuer: 'https://auth.example.com',
 *   audience: 'example-api',
 * });
 * app.get('/me', sessions.authenticate(), (req, res) => res.json(req.auth));
 */
export function createSessionManager(given: SessionManagerOptions): SessionManager {
  // Called without options (plain JS): report the missing issuer/keys, not a TypeError on undefined.
  const options = given ?? ({} as SessionManagerOptions);
  // Everything that can be checked without Redis is checked before toGuard() may open a connection.
  const settings = resolveOptions(options);
  const ring = importKeys(options.signingKeys);
  const ownsGuard = options.redis === undefined;
  const guard = toGuard(options.redis, options.logger ? { logger: options.logger } : {});
  let cookie: ResolvedCookie | undefined;
  try {
    cookie = resolveCookie(options.cookie, guard.environment);
  } catch (error) {
    if (ownsGuard) void guard.close();
    throw error;
  }
  const logger: Logger = options.logger ? maskingLogger(options.logger, () => guard.secrets()) : guard.logger;
  // Every session event is logged and handed to the guard's observers for the audit trail.
  const audit = (event: SessionEvent) => {
    logAudit(logger, event);
    reportAudit(guard, event);
  };
  const codec = createTokenCodec(ring, {
    issuer: settings.issuer,
    audience: settings.audience,
    clockToleranceMs: settings.clockToleranceMs,
    maxTokenAgeMs: settings.absoluteTimeoutMs + settings.clockToleranceMs,
  });
  const store: SessionStore =
    guard.mode === 'memory'
      ? new MemorySessionStore(logger)
      : new RedisSessionStore(guard, {
          keyPrefix: guard.keyPrefix,
          channel: settings.channel ?? eventChannel(guard.keyPrefix),
          replicaAcks: settings.replicaAcks,
          replicaWaitMs: settings.replicaWaitMs,
        });
  const { now } = settings;
  const path = createRequestPath({
    cookie,
    codec,
    store,
    guard,
    refusals: new RefusalLog(logger),
    touchAfterMs: settings.touchAfterMs,
    now,
  });
  const limit = { max: settings.maxSessionsPerUser, policy: settings.sessionLimitPolicy } as const;
  let live: LiveConnections | undefined;
  /** This process's own revocations end its bound connections at once, Pub/Sub or not. */
  const ended = (event: SessionEvent) => live?.onEvent(event);

  const manager: SessionManager = {
    guard,
    mode: guard.mode,
    cookie,
    realm: settings.realm,

    async create(userId, createOptions = {}) {
      assertUserId(userId);
      checkOptions('create', createOptions, { roles: 'array', metadata: 'object' });
      const roles = createOptions.roles === undefined ? undefined : assertRoles(createOptions.roles);
      const metadata = encodeMetadata(createOptions.metadata);
      const at = now();
      const { sessionId, handle } = newSession(userId);
      const jti = randomId();
      const expiresAt = at + settings.absoluteTimeoutMs;
      const accessToken = await codec.sign({ userId, sessionId, jti, issuedAt: at, expiresAt });
      const session: StoredSession = {
        handle,
        createdAt: at,
        lastSeenAt: at,
        expiresAt,
        idleMs: settings.idleTimeoutMs,
        tokenHash: hashTokenId(jti),
        authAt: at,
        metadata,
      };
      const login = stamp({ type: 'login', userId, sessionId }, at);
      const evicted = stamp(
        { type: 'revoke', userId, sessionId: sessionIdPrefix(userId), reason: 'session_limit' },
        at,
      ) as SessionEvent & { type: 'revoke' };
      const result = await store.create(userId, session, roles, settings.absoluteTimeoutMs, limit, {
        login,
        evicted,
      });
      if (!result.created) throw new SessionLimitError(limit.max);
      for (const old of result.evicted) {
        const event = { ...evicted, sessionId: evicted.sessionId + old };
        audit(event);
        ended(event);
      }
      if (result.evicted.length > 0)
        guard.report({ type: 'session.revoked', scope: 'session', count: result.evicted.length });
      audit(login);
      return { accessToken, sessionId, expiresAt: new Date(expiresAt) };
    },

    async get(sessionId) {
      const ref = assertSessionId(sessionId);
      const { session, roles } = await store.lookup(ref);
      return session && isLive(session, now()) ? sessionInfo(ref.userId, session, roles) : undefined;
    },

    async touch(sessionId) {
      return path.refresh(assertSessionId(sessionId));
    },

    async revoke(sessionId) {
      const ref = assertSessionId(sessionId);
      const at = now();
      const event = stamp({ type: 'revoke', userId: ref.userId, sessionId }, at);
      const removed = await store.revoke(ref, at, event);
      if (removed) {
        audit(event);
        ended(event);
        guard.report({ type: 'session.revoked', scope: 'session', count: 1 });
      }
      return removed;
    },

    async revokeAllForUser(userId) {
      assertUserId(userId);
      const at = now();
      const event = stamp({ type: 'revoke_all', userId, count: 0 }, at) as SessionEvent & {
        type: 'revoke_all';
      };
      const count = await store.revokeAll(userId, at, event);
      audit({ ...event, count });
      ended(event);
      if (count > 0) guard.report({ type: 'session.revoked', scope: 'user', count });
      return count;
    },

    async revokeOtherSessions(sessionId) {
      const keep = assertSessionId(sessionId);
      const at = now();
      const event = stamp(
        { type: 'revoke_others', userId: keep.userId, sessionId, count: 0 },
        at,
      ) as SessionEvent & { type: 'revoke_others' };
      const count = await store.revokeOthers(keep, at, event);
      audit({ ...event, count });
      ended(event);
      if (count > 0) guard.report({ type: 'session.revoked', scope: 'user', count });
      return count;
    },

    async listForUser(userId) {
      assertUserId(userId);
      const { sessions, roles } = await store.list(userId, now());
      return sessions.sort((a, b) => a.createdAt - b.createdAt).map((s) => sessionInfo(userId, s, roles));
    },

    async markReauthenticated(sessionId) {
      const ref = assertSessionId(sessionId);
      const done = await store.reauthenticate(ref, now());
      if (done)
        guard.report({ type: 'session.step_up', userId: ref.userId, sessionId }, { user: ref.userId });
      return done;
    },

    data(sessionId) {
      return sessionData(store, assertSessionId(sessionId), settings.dataLimits, now);
    },

    async updateUser(userId, update) {
      assertUserId(userId);
      checkOptions('updateUser', update, { roles: 'array' });
      const roles = assertRoles(update?.roles);
      const at = now();
      const event = stamp({ type: 'roles_changed', userId, roles }, at);
      await store.setRoles(userId, roles, at, settings.absoluteTimeoutMs, event);
      audit(event);
    },

    async verifyRequestToken(token) {
      return authenticated(await path.verifyToken(token));
    },

    async authenticateRequest(req) {
      return authenticated(await path.authenticate(req));
    },

    authenticate(authOptions) {
      return createAuthenticate(path, guard, settings.realm, authOptions);
    },

    requireRole(...roles) {
      return createRoleGuard(settings.realm, roles);
    },

    requireRecentAuth(maxAgeMs) {
      if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 1000) {
        throw new OptionError(
          'maxAgeMs',
          `requireRecentAuth(maxAgeMs): maxAgeMs must be an integer number of milliseconds, at least 1000 (e.g. 300_000 for 5 minutes), got ${String(maxAgeMs)}`,
        );
      }
      return createRecentAuthGuard(settings.realm, maxAgeMs, now);
    },

    bindConnection(auth, connection) {
      live ??= new LiveConnections({
        subscribe: (listener) => store.subscribe(listener),
        confirm: (refs) => path.confirm(refs),
        guard,
        logger,
        recheckMs: settings.connectionRecheckMs,
      });
      return live.bind(auth, connection);
    },

    async recordLoginFailure(details = {}) {
      checkOptions('recordLoginFailure', details, { ip: 'string', user: 'string' });
      const event = stamp(
        {
          type: 'login_failed',
          ...(details.ip !== undefined && { ip: details.ip }),
          ...(details.user !== undefined && { user: fingerprint(details.user) }),
        },
        now(),
      );
      audit(event);
      // The audit line is written; a Redis outage must not turn a failed login into an error.
      await store.publish(event).catch(() => undefined);
    },

    onEvent(listener) {
      if (typeof listener !== 'function')
        throw new OptionError('listener', 'onEvent(listener): listener must be a function');
      return store.subscribe(listener);
    },

    setCookie(res, session) {
      if (cookie) setSessionCookie(res, cookie, session.accessToken, session.expiresAt.getTime());
    },

    clearCookie(res) {
      if (cookie) clearSessionCookie(res, cookie);
    },

    async close() {
      live?.close();
      await store.close();
      if (ownsGuard) await guard.close();
    },
  };
  return manager;
}
