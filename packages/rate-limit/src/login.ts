import { createHash } from 'node:crypto';
import {
  checkOptions,
  positiveInteger,
  type RedisClient,
  type RedisGuard,
  type RedisUnavailableError,
  sendServiceUnavailable,
  toGuard,
} from '@sec/redis-guard';
import type { Request, RequestHandler, Response } from 'express';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import { DEFAULT_IPV6_SUBNET } from './client-ip.js';
import { clientKeyer } from './client-key.js';
import { secondsUntil } from './decision.js';
import { sendTooManyRequests } from './headers.js';
import { reserveName, storageKey } from './keys.js';
import { ipv6SubnetOption, redisOption } from './options.js';
import { RATE_LIMIT_SERVICE } from './rate-limit.js';
import { type Count, CounterStore, type StoreResult } from './store.js';

/** Prefix of the login limiter's two counter names. */
export const DEFAULT_LOGIN_LIMITER_NAME = 'login';
/** Failures in a row for one username from one client before the pair is blocked. */
export const DEFAULT_MAX_CONSECUTIVE_FAILS = 10;
/** Failures from one client per day before the client is blocked. */
export const DEFAULT_MAX_FAILS_BY_IP_PER_DAY = 100;
/** How long a username+IP pair stays blocked after too many consecutive failures. */
export const DEFAULT_LOGIN_BLOCK_SECONDS = 60 * 60;
/** How long an IP stays blocked after too many failures in a day. */
export const DEFAULT_IP_BLOCK_SECONDS = 24 * 60 * 60;
/** Consecutive failures are remembered this long unless a success resets them. */
export const DEFAULT_FAILURE_WINDOW_SECONDS = 90 * 24 * 60 * 60;
const DAY_SECONDS = 24 * 60 * 60;
// Bounds the hashing work an attacker can cause with a megabyte "username".
const MAX_USERNAME_LENGTH = 1024;

/**
 * Options of `loginLimiter()`; all optional, all checked at creation.
 * @example const options: LoginLimiterOptions = { maxConsecutiveFailsByUsernameAndIp: 5, blockDuration: 900 };
 */
export type LoginLimiterOptions = Readonly<{
  redis?: RedisGuard | RedisClient;
  /** Prefix of the two limiters' names (`<name>.user-ip`, `<name>.ip`). Default `'login'`. */
  name?: string;
  /** Failures in a row for one username from one client before that pair is blocked. Default 10. */
  maxConsecutiveFailsByUsernameAndIp?: number;
  /** Failures from one client (any usernames) per day before the client is blocked. Default 100. */
  maxFailsByIpPerDay?: number;
  /** Seconds a username+client pair stays blocked. Default 3600. */
  blockDuration?: number;
  /** Seconds a client stays blocked after `maxFailsByIpPerDay`. Default 86400. */
  ipBlockDuration?: number;
  /** Seconds consecutive failures are remembered without a success. Default 90 days. */
  failureWindow?: number;
  /** IPv6 prefix length that counts as one client. Default 56. */
  ipv6Subnet?: number;
}>;

/**
 * Whether a login attempt may proceed. `limited` names which counter refused it; `unavailable`
 * means Redis cannot answer on a fail-closed guard (answer 503).
 * @example
 * const decision = await login.check(req, req.body.username);
 * if (decision.outcome !== 'allowed') return login.respond(res, decision);
 */
export type LoginDecision =
  | { readonly outcome: 'allowed' }
  | { readonly outcome: 'limited'; readonly reason: 'username_ip' | 'ip'; readonly retryAfterSeconds: number }
  | {
      readonly outcome: 'unavailable';
      readonly error: RedisUnavailableError;
      readonly retryAfterSeconds: number;
    };

/**
 * What `loginLimiter()` returns; see its example for a complete login route.
 * @example if (login.respond(res, await login.check(req, username))) return;
 */
export interface LoginLimiter {
  readonly name: string;
  readonly guard: RedisGuard;
  /** Reads both counters without counting: call before verifying the password. */
  check(req: Request, username: unknown): Promise<LoginDecision>;
  /** Counts a failed attempt; `limited` when this failure triggered a block. */
  recordFailure(req: Request, username: unknown): Promise<LoginDecision>;
  /** Clears the username+client counter (the per-client daily count stays). Never rejects. */
  recordSuccess(req: Request, username: unknown): Promise<void>;
  /** Answers 429 or 503 for a refusing decision and returns true; returns false for `allowed`. */
  respond(res: Response, decision: LoginDecision): boolean;
  /** Middleware refusing blocked attempts before the login handler runs. */
  middleware(getUsername: (req: Request) => unknown): RequestHandler;
}

const ALLOWED: LoginDecision = { outcome: 'allowed' };

/** Usernames are personal data and may be huge: store a fixed-size digest of the normalised form. */
function usernameDigest(username: unknown): string {
  const text =
    typeof username === 'string'
      ? username.slice(0, MAX_USERNAME_LENGTH).normalize('NFKC').trim().toLowerCase()
      : '';
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

function limitedBy(reason: 'username_ip' | 'ip', res: RateLimiterRes): LoginDecision {
  return { outcome: 'limited', reason, retryAfterSeconds: secondsUntil(res.msBeforeNext) };
}

function unavailable(error: RedisUnavailableError): LoginDecision {
  return { outcome: 'unavailable', error, retryAfterSeconds: error.retryAfterSeconds };
}

/**
 * Brute-force protection for a login handler, after rate-limiter-flexible's "login endpoint
 * protection" recipe: counts failures per username+client and per client, blocks a pair after
 * `maxConsecutiveFailsByUsernameAndIp` failures in a row and a client after `maxFailsByIpPerDay`,
 * and forgets a pair's failures on success. Fails closed like `rateLimit()`.
 * @example
 * const login = loginLimiter({ redis, maxConsecutiveFailsByUsernameAndIp: 5 });
 * async function logIn(req, res) {
 *   const { username, password } = req.body;
 *   if (!(await verify(username, password))) {
 *     if (login.respond(res, await login.recordFailure(req, username))) return;
 *     return res.status(401).json({ error: 'invalid_credentials' });
 *   }
 *   await login.recordSuccess(req, username);
 *   res.json({ ok: true });
 * }
 * // Express 4 does not catch a rejected handler: pass rejections to next.
 * app.post('/login', login.middleware((req) => req.body?.username), (req, res, next) => logIn(req, res).catch(next));
 */
export function loginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  checkOptions('loginLimiter', options, {
    redis: redisOption,
    name: 'string',
    maxConsecutiveFailsByUsernameAndIp: positiveInteger,
    maxFailsByIpPerDay: positiveInteger,
    blockDuration: positiveInteger,
    ipBlockDuration: positiveInteger,
    failureWindow: positiveInteger,
    ipv6Subnet: ipv6SubnetOption,
  });
  const name = options.name ?? DEFAULT_LOGIN_LIMITER_NAME;
  const guard = toGuard(options.redis);
  const pairName = `${name}.user-ip`;
  const ipName = `${name}.ip`;
  reserveName(guard, pairName, 'loginLimiter');
  reserveName(guard, ipName, 'loginLimiter');
  // rate-limiter-flexible blocks on the consume that exceeds `points`; with points = max - 1 the
  // max-th failure is the one that blocks, so the next attempt is refused.
  const pairs = new CounterStore(guard, {
    name: pairName,
    points: (options.maxConsecutiveFailsByUsernameAndIp ?? DEFAULT_MAX_CONSECUTIVE_FAILS) - 1,
    duration: options.failureWindow ?? DEFAULT_FAILURE_WINDOW_SECONDS,
    blockDuration: options.blockDuration ?? DEFAULT_LOGIN_BLOCK_SECONDS,
  });
  const clients = new CounterStore(guard, {
    name: ipName,
    points: (options.maxFailsByIpPerDay ?? DEFAULT_MAX_FAILS_BY_IP_PER_DAY) - 1,
    duration: DAY_SECONDS,
    blockDuration: options.ipBlockDuration ?? DEFAULT_IP_BLOCK_SECONDS,
  });
  const clientKey = clientKeyer(guard, name, options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET);

  function keys(req: Request, username: unknown): { pair: string; client: string } {
    const client = clientKey(req);
    return {
      pair: storageKey(pairName, `${usernameDigest(username)}:${client}`),
      client: storageKey(ipName, client),
    };
  }

  function decide(
    byClient: StoreResult<Count | undefined>,
    byPair: StoreResult<Count | undefined>,
  ): LoginDecision {
    if (!byClient.ok) return unavailable(byClient.error);
    if (!byPair.ok) return unavailable(byPair.error);
    if (byClient.value?.limited) return limitedBy('ip', byClient.value.res);
    if (byPair.value?.limited) return limitedBy('username_ip', byPair.value.res);
    return ALLOWED;
  }

  const limiter: LoginLimiter = {
    name,
    guard,
    async check(req, username) {
      const { pair, client } = keys(req, username);
      const [byClient, byPair] = await Promise.all([clients.peek(client), pairs.peek(pair)]);
      return decide(byClient, byPair);
    },
    async recordFailure(req, username) {
      const { pair, client } = keys(req, username);
      const [byClient, byPair] = await Promise.all([clients.consume(client, 1), pairs.consume(pair, 1)]);
      return decide(byClient, byPair);
    },
    async recordSuccess(req, username) {
      const result = await pairs.delete(keys(req, username).pair);
      if (!result.ok) {
        guard.warnOnce(
          `ratelimit.login_reset_failed.${name}`,
          `login limiter "${name}": could not reset failures after a successful login (${result.error.message}); they expire on their own.`,
          { limiter: name },
        );
      }
    },
    respond(res, decision) {
      if (decision.outcome === 'allowed') return false;
      if (decision.outcome === 'unavailable') {
        sendServiceUnavailable(res, guard, RATE_LIMIT_SERVICE);
        return true;
      }
      guard.report({ type: 'ratelimit.rejected', limiter: decision.reason === 'ip' ? ipName : pairName });
      sendTooManyRequests(res, name, decision.retryAfterSeconds);
      return true;
    },
    middleware(getUsername) {
      return (req, res, next) => {
        // A getUsername that throws (no body parser, say) still leaves the per-client counter in force.
        Promise.resolve()
          .then(() => getUsername(req))
          .catch(() => undefined)
          .then((username) => limiter.check(req, username))
          .then((decision) => {
            if (!limiter.respond(res, decision)) next();
          }, next);
      };
    },
  };
  return limiter;
}
