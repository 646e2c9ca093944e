import type { IncomingMessage } from 'node:http';
import {
  checkOptions,
  type GuardMode,
  type Logger,
  maskingLogger,
  type RedisGuard,
  toGuard,
} from '@sec/redis-guard';
import type { RequestHandler, Response } from 'express';
import type { AuthContext, CreatedSession, SessionInfo } from './auth-context.js';
import { clearSessionCookie, type ResolvedCookie, resolveCookie, setSessionCookie } from './cookies.js';
import { extractToken } from './credentials.js';
import { InvalidTokenError } from './errors.js';
import { logAudit, type SessionEvent, type SessionEventListener, stamp } from './events.js';
import {
  assertRoles,
  assertSessionId,
  assertUserId,
  encodeMetadata,
  fingerprint,
  hashTokenId,
  newSessionId,
  parseSessionId,
  randomId,
} from './ids.js';
import { importKeys } from './keys.js';
import { MemorySessionStore } from './memory-store.js';
import { type AuthenticateOptions, createAuthenticate, createRoleGuard } from './middleware.js';
import { resolveOptions, type SessionManagerOptions } from './options.js';
import { RedisSessionStore, replicaAcksFor } from './redis-store.js';
import { RejectionLog } from './rejections.js';
import { type SessionStore, type StoredSession, sessionInfo } from './store.js';
import { createTokenCodec } from './tokens.js';

/**
 * Options of create().
 * @example await sessions.create(user.id, { roles: ['editor'], metadata: { userAgent: req.get('user-agent') } });
 */
export interface CreateSessionOptions {
  /** The user's roles; omitted: keep the roles already stored for this user (none for a new user). */
  readonly roles?: readonly string[];
  /** Small JSON object kept with the session (≤ 2 KiB), e.g. `{ userAgent }`. Never put secrets here. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * Sessions backed by Redis (or memory in development), with JWT access tokens.
 * @example await sessions.revokeAllForUser(userId); // every worker refuses the user's tokens from now on
 */
export interface SessionManager {
  readonly guard: RedisGuard;
  /** 'memory' when nothing is shared between processes (development and test only). */
  readonly mode: GuardMode;
  readonly cookie: ResolvedCookie | undefined;
  readonly realm: string;
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
  listForUser(userId: string): Promise<SessionInfo[]>;
  /** Replaces the user's roles; every worker sees them on the next request. */
  updateUser(userId: string, update: { readonly roles: readonly string[] }): Promise<void>;
  /** Verifies a token and its session; rejects with InvalidTokenError (401) or RedisUnavailableError (503). */
  verifyRequestToken(token: string): Promise<AuthContext>;
  /** Like verifyRequestToken, reading the token from a request (header, then cookie): for WebSocket upgrades. */
  authenticateRequest(req: IncomingMessage): Promise<AuthContext>;
  authenticate(options?: AuthenticateOptions): RequestHandler;
  requireRole(...roles: string[]): RequestHandler;
  /** Logs and publishes a login_failed audit event; `user` is stored only as a fingerprint. */
  recordLoginFailure(details?: { readonly ip?: string; readonly user?: string }): Promise<void>;
  /** Audit events from every process (Redis Pub/Sub), or from this one in memory mode. */
  onEvent(listener: SessionEventListener): () => void;
  setCookie(res: Response, session: CreatedSession): void;
  clearCookie(res: Response): void;
  /** Stops the event subscriber; closes the guard too when the manager created it. */
  close(): Promise<void>;
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
  const codec = createTokenCodec(ring, {
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockTolerance,
    maxTokenAge: Math.ceil(settings.absoluteMs / 1000) + settings.clockTolerance,
  });
  const store: SessionStore =
    guard.mode === 'memory'
      ? new MemorySessionStore(logger)
      : new RedisSessionStore(guard, {
          keyPrefix: settings.keyPrefix,
          channel: settings.channel,
          replicaAcks: replicaAcksFor(guard, settings.replicaAcks),
          replicaWaitMs: settings.replicaWaitMs,
        });
  const rejections = new RejectionLog(logger);
  const { now } = settings;

  const reject = (token: string, error: InvalidTokenError): never => {
    rejections.record(token, error.reason);
    throw error;
  };

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
      const sessionId = newSessionId(userId);
      const { handle } = parseSessionId(sessionId)!;
      const jti = randomId();
      const expiresAt = at + settings.absoluteMs;
      const accessToken = await codec.sign({ userId, sessionId, jti, issuedAt: at, expiresAt });
      const session: StoredSession = {
        handle,
        createdAt: at,
        lastSeenAt: at,
        expiresAt,
        idleMs: settings.idleMs,
        tokenHash: hashTokenId(jti),
        metadata,
      };
      const event = stamp({ type: 'login', userId, sessionId }, at);
      await store.create(userId, session, roles, settings.absoluteMs, event);
      logAudit(logger, event);
      return { accessToken, sessionId, expiresAt: new Date(expiresAt) };
    },

    async get(sessionId) {
      const { userId, handle } = assertSessionId(sessionId);
      const found = await store.read(userId, handle, now());
      return found ? sessionInfo(userId, found.session, found.roles) : undefined;
    },

    async touch(sessionId) {
      const { userId, handle } = assertSessionId(sessionId);
      const roles = await store.check(userId, handle, {
        tokenHash: undefined,
        now: now(),
        touchAfterMs: settings.touchAfterMs,
        withRoles: false,
      });
      return roles !== undefined;
    },

    async revoke(sessionId) {
      const { userId, handle } = assertSessionId(sessionId);
      const at = now();
      const event = stamp({ type: 'revoke', userId, sessionId }, at);
      const removed = await store.revoke(userId, handle, at, event);
      if (removed) {
        logAudit(logger, event);
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
      logAudit(logger, { ...event, count });
      if (count > 0) guard.report({ type: 'session.revoked', scope: 'user', count });
      return count;
    },

    async listForUser(userId) {
      assertUserId(userId);
      const { sessions, roles } = await store.list(userId, now());
      return sessions.sort((a, b) => a.createdAt - b.createdAt).map((s) => sessionInfo(userId, s, roles));
    },

    async updateUser(userId, update) {
      assertUserId(userId);
      checkOptions('updateUser', update, { roles: 'array' });
      const roles = assertRoles(update?.roles);
      const at = now();
      const event = stamp({ type: 'roles_changed', userId, roles }, at);
      await store.setRoles(userId, roles, at, settings.absoluteMs, event);
      logAudit(logger, event);
    },

    async verifyRequestToken(token) {
      if (typeof token !== 'string') throw new InvalidTokenError('malformed');
      const at = now();
      const claims = await codec.verify(token, at).catch((error: InvalidTokenError) => reject(token, error));
      const roles = await store.check(claims.userId, claims.handle, {
        tokenHash: claims.tokenHash,
        now: at,
        touchAfterMs: settings.touchAfterMs,
        withRoles: true,
      });
      if (!roles) return reject(token, new InvalidTokenError('unknown_session'));
      return { userId: claims.userId, sessionId: claims.sessionId, roles };
    },

    async authenticateRequest(req) {
      let token: string;
      try {
        token = extractToken(req, cookie);
      } catch (error) {
        const header = req.headers.authorization;
        if (error instanceof InvalidTokenError && error.reason !== 'missing' && header)
          rejections.record(header, error.reason);
        throw error;
      }
      return manager.verifyRequestToken(token);
    },

    authenticate(authOptions) {
      return createAuthenticate(manager, logger, authOptions);
    },

    requireRole(...roles) {
      return createRoleGuard(settings.realm, roles);
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
      logAudit(logger, event);
      // The audit line is written; a Redis outage must not turn a failed login into an error.
      await store.publish(event).catch(() => undefined);
    },

    onEvent(listener) {
      if (typeof listener !== 'function')
        throw new TypeError('onEvent(listener): listener must be a function');
      return store.subscribe(listener);
    },

    setCookie(res, session) {
      if (cookie) setSessionCookie(res, cookie, session.accessToken, session.expiresAt.getTime());
    },

    clearCookie(res) {
      if (cookie) clearSessionCookie(res, cookie);
    },

    async close() {
      await store.close();
      if (ownsGuard) await guard.close();
    },
  };
  return manager;
}
