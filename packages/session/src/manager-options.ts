import {
  ConfigurationError,
  type Logger,
  OptionError,
  type RedisClient,
  type RedisGuard,
} from '@sec/redis-guard';
import {
  checkOptions,
  nonNegativeInteger,
  type OptionRule,
  positiveInteger,
} from '@sec/redis-guard/internal';
import type { SessionCookieOptions } from './cookies.js';
import { type DataLimits, resolveDataLimits, type SessionDataOptions } from './data.js';
import { SessionErrorCode as Code } from './errors.js';
import type { SigningKeyInput } from './signing-keys.js';
import type { SessionLimitPolicy } from './store.js';

/**
 * OWASP's range for idle timeouts is 15–30 minutes: 30 minutes.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;
/**
 * Sessions end 8 hours after login, however active: a working day.
 */
export const DEFAULT_ABSOLUTE_TIMEOUT_MS = 8 * 3_600_000;
/**
 * At most one write per session per minute for sliding expiry (capped at half the idle timeout).
 */
export const DEFAULT_TOUCH_INTERVAL_MS = 60_000;
/**
 * Clock skew allowed on `exp`, `nbf` and `iat`: 5 seconds.
 */
export const DEFAULT_CLOCK_TOLERANCE_MS = 5_000;
/**
 * `realm` of the WWW-Authenticate challenge.
 */
export const DEFAULT_REALM = 'api';
/**
 * Live sessions one user may hold: enough for every device a person owns, small enough that the
 * scripts reading a user's sessions stay cheap however often someone logs in.
 */
export const DEFAULT_MAX_SESSIONS_PER_USER = 50;
/**
 * Highest accepted `maxSessionsPerUser`: it bounds the work of every script that reads a user's
 * sessions.
 */
export const MAX_SESSIONS_PER_USER_LIMIT = 1_000;
/**
 * How often live connections re-check their sessions in one batch, in ms. Twice a second keeps
 * a connection whose revocation message was lost open for at most about half a second.
 */
export const DEFAULT_CONNECTION_RECHECK_MS = 500;

/**
 * Options of createSessionManager(); only `signingKeys`, `issuer` and `audience` are required.
 * @example
 * const options: SessionManagerOptions = {
 *   redis: guard,
 *   signingKeys: [{ kid: '2025-06', secret: process.env.SESSION_SECRET! }],
 *   issuer: 'https://auth.example.com',
 *   audience: 'api',
 *   idleTimeoutMs: 15 * 60_000,
 * };
 */
export interface SessionManagerOptions {
  /** A RedisGuard, a bare ioredis client, or nothing (a guard from `process.env`; memory mode in dev/test without REDIS_URL). */
  readonly redis?: RedisGuard | RedisClient;
  /** Signs with the first, verifies with any (matched by `kid`). */
  readonly signingKeys: readonly SigningKeyInput[];
  /** `iss` of issued tokens, required on verification. */
  readonly issuer: string;
  /** `aud` of issued tokens, required on verification. */
  readonly audience: string;
  /** A session unused this long (ms, at least 1000) ends. Default 1800000 (30 min). */
  readonly idleTimeoutMs?: number;
  /** A session ends this long (ms, at least 1000) after login, however active; also the token lifetime. Default 28800000 (8 h). */
  readonly absoluteTimeoutMs?: number;
  /** Minimum time (ms) between two writes of `lastSeen` for one session. Default 60000. */
  readonly touchIntervalMs?: number;
  /** Clock skew tolerated on the token's times, in ms. Default 5000. */
  readonly clockToleranceMs?: number;
  /** Also accept (and let the router set) the token in a cookie; Secure, HttpOnly, SameSite=Lax. */
  readonly cookie?: boolean | SessionCookieOptions;
  /** Pub/Sub channel for audit events, or false to publish none. Default: the guard's keyPrefix + 'session:events'. */
  readonly channel?: string | false;
  /** `realm` in WWW-Authenticate. Default 'api'. */
  readonly realm?: string;
  /** Default: the guard's (masking) logger. */
  readonly logger?: Logger;
  /**
   * Replicas that must acknowledge a revocation or role change (Redis WAIT) before the call
   * returns, so a failover cannot bring a revoked session back. 'auto' (default): 1 on a Sentinel
   * client and on a Cluster whose slot map lists replicas, 0 on a standalone server.
   */
  readonly replicaAcks?: number | 'auto';
  /** How long to wait for those acknowledgements, in ms. Default 500. */
  readonly replicaWaitMs?: number;
  /** Live sessions per user. Default 50, at most 1,000. */
  readonly maxSessionsPerUser?: number;
  /**
   * At the cap, 'revoke-least-recent' (default) revokes the session unused for longest to make
   * room; 'refuse' fails the login (SessionLimitError, 409 from the router).
   */
  readonly sessionLimitPolicy?: SessionLimitPolicy;
  /** How often bound connections re-check their sessions, in ms (50 to 1,000). Default 500. */
  readonly connectionRecheckMs?: number;
  /** Bounds of each session's data (`sessions.data(sessionId)`). Default 32 fields, 8 KiB a value, 64 KiB in all. */
  readonly sessionData?: SessionDataOptions;
  /** Clock in ms, for tests. */
  readonly now?: () => number;
}

/** How long a revocation waits for replicas before it fails with a 503. */
export const DEFAULT_REPLICA_WAIT_MS = 500;

/**
 * Options after validation, with defaults applied.
 */
export interface ResolvedOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchAfterMs: number;
  readonly clockToleranceMs: number;
  /** '' to publish nothing; undefined for the default, which depends on the guard's keyPrefix. */
  readonly channel: string | undefined;
  readonly realm: string;
  readonly replicaAcks: number | 'auto';
  readonly replicaWaitMs: number;
  readonly maxSessionsPerUser: number;
  readonly sessionLimitPolicy: SessionLimitPolicy;
  readonly connectionRecheckMs: number;
  readonly dataLimits: DataLimits;
  readonly now: () => number;
}

/**
 * A session time-out in ms: a whole number, at least a second, because tokens carry their expiry
 * in whole seconds (a shorter one would expire as it is issued).
 */
const timeoutMs: OptionRule = {
  kind: 'number',
  check: (v) =>
    Number.isSafeInteger(v) && (v as number) >= 1000
      ? undefined
      : 'must be an integer number of milliseconds, at least 1000',
};

const QUOTED_SAFE = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/** `issuer` and `audience`: tokens are bound to both, so a token minted for another service is refused. */
function boundClaim(example: string): OptionRule {
  return {
    kind: 'string',
    required: `tokens are bound to one issuer and one audience, so a token minted for another service is refused; e.g. ${example}`,
    check: (v) => ((v as string).length > 0 ? undefined : 'must not be empty'),
  };
}

/**
 * Validates the options once, at creation: unknown keys and wrong types throw OptionError, unsafe
 * or inconsistent values throw ConfigurationError. The cookie settings depend on the environment
 * and are checked by resolveCookie() once the guard exists.
 */
export function resolveOptions(options: SessionManagerOptions): ResolvedOptions {
  checkOptions('createSessionManager', options, {
    redis: 'object',
    signingKeys: {
      kind: 'array',
      required:
        "at least one { kid, secret } (HS256, >= 32 bytes) or { kid, alg, privateKey }, e.g. [{ kid: '2025-06', secret: process.env.SESSION_SECRET }]",
      check: (v) => ((v as unknown[]).length > 0 ? undefined : 'must hold at least one key'),
    },
    issuer: boundClaim("'https://auth.example.com'"),
    audience: boundClaim("'my-api'"),
    idleTimeoutMs: timeoutMs,
    absoluteTimeoutMs: timeoutMs,
    touchIntervalMs: positiveInteger,
    clockToleranceMs: nonNegativeInteger,
    cookie: ['boolean', 'object'],
    keyPrefix: {
      kind: ['string', 'number', 'boolean', 'object', 'array', 'function'],
      check: () => 'is set on the guard, for every package at once: createRedisGuard({ keyPrefix })',
    },
    channel: ['string', 'boolean'],
    realm: 'string',
    logger: 'object',
    replicaAcks: {
      kind: ['number', 'string'],
      check: (v) =>
        v === 'auto' || (Number.isInteger(v) && (v as number) >= 0)
          ? undefined
          : "must be 'auto' or a non-negative integer",
    },
    replicaWaitMs: positiveInteger,
    maxSessionsPerUser: {
      kind: 'number',
      check: (v) =>
        Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SESSIONS_PER_USER_LIMIT
          ? undefined
          : `must be an integer from 1 to ${MAX_SESSIONS_PER_USER_LIMIT}`,
    },
    sessionLimitPolicy: {
      kind: 'string',
      check: (v) =>
        v === 'revoke-least-recent' || v === 'refuse'
          ? undefined
          : "must be 'revoke-least-recent' or 'refuse'",
    },
    connectionRecheckMs: {
      kind: 'number',
      check: (v) =>
        Number.isInteger(v) && (v as number) >= 50 && (v as number) <= 1_000
          ? undefined
          : 'must be an integer from 50 to 1000 (ms)',
    },
    sessionData: 'object',
    now: 'function',
  });
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const absoluteTimeoutMs = options.absoluteTimeoutMs ?? DEFAULT_ABSOLUTE_TIMEOUT_MS;
  if (idleTimeoutMs > absoluteTimeoutMs) {
    throw new ConfigurationError(
      Code.InvalidTimeouts,
      'idleTimeoutMs is longer than absoluteTimeoutMs, so it would never apply; shorten idleTimeoutMs or lengthen absoluteTimeoutMs.',
      'idleTimeoutMs',
    );
  }
  const touchIntervalMs = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
  if (options.touchIntervalMs !== undefined && touchIntervalMs >= idleTimeoutMs) {
    throw new ConfigurationError(
      Code.InvalidTimeouts,
      'touchIntervalMs must be shorter than idleTimeoutMs, or active sessions would expire between two writes.',
      'touchIntervalMs',
    );
  }
  if ((options.channel as unknown) === true || options.channel === '') {
    throw new OptionError(
      'channel',
      'createSessionManager(): option "channel" must be a channel name, or false to publish nothing',
    );
  }
  const realm = options.realm ?? DEFAULT_REALM;
  if (!QUOTED_SAFE.test(realm)) {
    throw new OptionError(
      'realm',
      'createSessionManager(): option "realm" must be 1-64 printable characters without quotes or backslashes',
    );
  }
  return {
    issuer: options.issuer,
    audience: options.audience,
    idleTimeoutMs,
    absoluteTimeoutMs,
    touchAfterMs: Math.min(touchIntervalMs, Math.floor(idleTimeoutMs / 2)),
    clockToleranceMs: options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS,
    channel: options.channel === false ? '' : options.channel,
    realm,
    replicaAcks: options.replicaAcks ?? 'auto',
    replicaWaitMs: options.replicaWaitMs ?? DEFAULT_REPLICA_WAIT_MS,
    maxSessionsPerUser: options.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER,
    sessionLimitPolicy: options.sessionLimitPolicy ?? 'revoke-least-recent',
    connectionRecheckMs: options.connectionRecheckMs ?? DEFAULT_CONNECTION_RECHECK_MS,
    dataLimits: resolveDataLimits(options.sessionData),
    now: options.now ?? Date.now,
  };
}
