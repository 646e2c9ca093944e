import { createHash } from 'node:crypto';
import {
  type RedisClient,
  type RedisGuard,
  type RedisUnavailableError,
  sendServiceUnavailable,
} from '@sec/redis-guard';
import { checkOptions, positiveInteger, scrubError, toGuard } from '@sec/redis-guard/internal';
import type { Request, Response } from 'express';
import { reportBlock } from './audit.js';
import { DEFAULT_IPV6_SUBNET } from './client-ip.js';
import { clientKeyer } from './client-key.js';
import { secondsUntil } from './decision.js';
import { sendTooManyRequests } from './headers.js';
import { reserveName, storageKey } from './key-names.js';
import { ipv6SubnetOption, redisOption, wholeSeconds } from './option-rules.js';
import { RATE_LIMIT_SERVICE } from './rate-limit.js';
import { CounterStore, type Reservation, type StoreResult } from './store.js';

/** Prefix of the login limiter's two counter names. */
export const DEFAULT_LOGIN_LIMITER_NAME = 'login';
/** Password checks in a row for one account from one client before the pair is blocked. */
export const DEFAULT_MAX_CONSECUTIVE_FAILS = 10;
/** Password checks from one client per day (successes refunded) before the client is blocked. */
export const DEFAULT_MAX_FAILS_BY_IP_PER_DAY = 100;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How long an account+client pair stays blocked after too many consecutive failures: an hour. */
export const DEFAULT_LOGIN_BLOCK_DURATION_MS = 60 * 60 * 1000;
/** How long a client stays blocked after too many failures in a day: a day. */
export const DEFAULT_IP_BLOCK_DURATION_MS = DAY_MS;
/** Consecutive failures are remembered this long unless a success resets them: 90 days. */
export const DEFAULT_FAILURE_WINDOW_MS = 90 * DAY_MS;
/** The pair bucket of values that cannot name an account (arrays, objects, numbers from JSON). */
const NOT_AN_ACCOUNT = 'not-an-account';

/**
 * Options of `loginLimiter()`; all optional, all checked at creation.
 * @example const options: LoginLimiterOptions = { maxConsecutiveFailsByUsernameAndIp: 5, blockDurationMs: 900_000 };
 */
export type LoginLimiterOptions = Readonly<{
  redis?: RedisGuard | RedisClient;
  /** Prefix of the two limiters' names (`<name>.user-ip`, `<name>.ip`). Default `'login'`. */
  name?: string;
  /** Password checks in a row for one account from one client before that pair is blocked. Default 10. */
  maxConsecutiveFailsByUsernameAndIp?: number;
  /** Password checks from one client (any accounts) per day before the client is blocked. Default 100. */
  maxFailsByIpPerDay?: number;
  /** How long (ms, a multiple of 1000) an account+client pair stays blocked. Default 3600000 (1 h). */
  blockDurationMs?: number;
  /** How long (ms, a multiple of 1000) a client stays blocked after `maxFailsByIpPerDay`. Default 86400000 (1 day). */
  ipBlockDurationMs?: number;
  /** How long (ms, a multiple of 1000) consecutive failures are remembered without a success. Default 90 days. */
  failureWindowMs?: number;
  /** IPv6 prefix length that counts as one client. Default 56. */
  ipv6Subnet?: number;
  /**
   * Maps the submitted username to the account it names, exactly as your user lookup does
   * (e.g. `(u) => u.trim().toLowerCase()` when accounts are found case-insensitively). Default:
   * the string as submitted. Two inputs share a counter exactly when this returns the same string.
   */
  account?: (username: string) => string;
}>;

/**
 * One reserved login attempt. `allowed`: the attempt is counted, verify the credential, then call
 * exactly one of `succeeded()` or `failed()` (neither rejects). `limited`: a budget is spent (answer
 * 429). `unavailable`: Redis cannot answer on a fail-closed guard (answer 503).
 * @example
 * app.post('/login', async (req, res) => {
 *   const attempt = await login.reserve(req, req.body.username);
 *   if (login.respond(res, attempt)) return;
 *   if (await checkPassword(req.body.username, req.body.password)) await attempt.succeeded();
 *   else await attempt.failed();
 *   res.end();
 * });
 */
export type LoginAttempt =
  | { readonly outcome: 'allowed'; succeeded(): Promise<void>; failed(): Promise<void> }
  | {
      readonly outcome: 'limited';
      readonly reason: 'account_client' | 'client';
      readonly retryAfterSeconds: number;
    }
  | {
      readonly outcome: 'unavailable';
      readonly error: RedisUnavailableError;
      readonly retryAfterSeconds: number;
    };

/**
 * A refused attempt: what `respond()` answers for.
 * @example
 * function retryAfter(attempt: RefusedLoginAttempt): number {
 *   return attempt.retryAfterSeconds;
 * }
 */
export type RefusedLoginAttempt = Exclude<LoginAttempt, { outcome: 'allowed' }>;

/**
 * What `loginLimiter()` returns; see its example for a complete login route.
 * @example
 * const attempt = await login.reserve(req, req.body?.username);
 * if (!login.respond(res, attempt)) console.log('allowed: check the password now');
 */
export interface LoginLimiter {
  readonly name: string;
  readonly guard: RedisGuard;
  /**
   * Atomically counts one attempt for (account, client) and for the client's daily budget
   * BEFORE the credential is checked; refuses (`limited`/`unavailable`) when either is spent.
   * Never rejects.
   */
  reserve(req: Request, username: unknown): Promise<LoginAttempt>;
  /** Answers 429 (with Retry-After) or 503 (Retry-After) for a refusal and returns true; false for `allowed`. */
  respond(res: Response, attempt: LoginAttempt): attempt is RefusedLoginAttempt;
}

/**
 * The account part of the pair key: a fixed-size digest, because usernames are personal data and
 * may be huge. No folding here: only the app knows which spellings name one account.
 */
function accountDigest(identity: string): string {
  return createHash('sha256').update(identity, 'utf8').digest('base64url');
}

function limited(reason: 'account_client' | 'client', reservation: Reservation): LoginAttempt {
  return { outcome: 'limited', reason, retryAfterSeconds: secondsUntil(reservation.msBeforeNext) };
}

function unavailable(error: RedisUnavailableError): LoginAttempt {
  return { outcome: 'unavailable', error, retryAfterSeconds: error.retryAfterSeconds };
}

/**
 * Brute-force protection for a login handler, after rate-limiter-flexible's "login endpoint
 * protection" recipe, reserve-first: every attempt is counted atomically before the password is
 * checked, per account+client (at most `maxConsecutiveFailsByUsernameAndIp` checks in a row, then
 * blocked for `blockDurationMs`) and per client per day (at most `maxFailsByIpPerDay`, then blocked
 * for `ipBlockDurationMs`). However many requests arrive at once, no more checks run than the
 * budgets allow. A success resets the pair and gives the daily unit back; a failure keeps both.
 * Fails closed like `rateLimit()`.
 * @example
 * const login = loginLimiter({ redis, maxConsecutiveFailsByUsernameAndIp: 5 });
 * app.post('/login', async (req, res, next) => {
 *   try {
 *     const { username, password } = req.body ?? {};
 *     const attempt = await login.reserve(req, username);
 *     if (login.respond(res, attempt)) return; // 429 or 503: no password check
 *     if (!(await checkPassword(username, password))) {
 *       await attempt.failed();
 *       return res.status(401).json({ error: 'invalid_credentials' });
 *     }
 *     await attempt.succeeded();
 *     res.json({ ok: true });
 *   } catch (error) {
 *     next(error);
 *   }
 * });
 */
export function loginLimiter(options: LoginLimiterOptions = {}): LoginLimiter {
  checkOptions('loginLimiter', options, {
    redis: redisOption,
    name: 'string',
    maxConsecutiveFailsByUsernameAndIp: positiveInteger,
    maxFailsByIpPerDay: positiveInteger,
    blockDurationMs: wholeSeconds(1000),
    ipBlockDurationMs: wholeSeconds(1000),
    failureWindowMs: wholeSeconds(1000),
    ipv6Subnet: ipv6SubnetOption,
    account: 'function',
  });
  const name = options.name ?? DEFAULT_LOGIN_LIMITER_NAME;
  const guard = toGuard(options.redis);
  const pairName = `${name}.user-ip`;
  const ipName = `${name}.ip`;
  const blocked = (limiter: string, key: string, attempt: LoginAttempt): LoginAttempt => {
    if (attempt.outcome === 'limited') reportBlock(guard, limiter, key, attempt.retryAfterSeconds);
    return attempt;
  };
  reserveName(guard, pairName, 'loginLimiter');
  reserveName(guard, ipName, 'loginLimiter');
  const pairs = new CounterStore(guard, {
    name: pairName,
    points: options.maxConsecutiveFailsByUsernameAndIp ?? DEFAULT_MAX_CONSECUTIVE_FAILS,
    windowMs: options.failureWindowMs ?? DEFAULT_FAILURE_WINDOW_MS,
    blockDurationMs: options.blockDurationMs ?? DEFAULT_LOGIN_BLOCK_DURATION_MS,
  });
  const clients = new CounterStore(guard, {
    name: ipName,
    points: options.maxFailsByIpPerDay ?? DEFAULT_MAX_FAILS_BY_IP_PER_DAY,
    windowMs: DAY_MS,
    blockDurationMs: options.ipBlockDurationMs ?? DEFAULT_IP_BLOCK_DURATION_MS,
  });
  const clientKey = clientKeyer(guard, name, options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET);
  const { account } = options;

  function accountPart(username: unknown): string {
    if (typeof username !== 'string') return NOT_AN_ACCOUNT;
    if (!account) return accountDigest(username);
    try {
      const identity = account(username);
      if (typeof identity === 'string') return accountDigest(identity);
      throw new TypeError(`returned ${typeof identity}, not a string`);
    } catch (error) {
      // The app's bug: count the attempt in a bucket no real account shares, never skip it.
      guard.warnOnce(
        `ratelimit.login_account_invalid.${name}`,
        `login limiter "${name}": the account option failed (${(error as Error).message}); such attempts share one counter per client.`,
        { limiter: name, err: scrubError(error, guard.secrets()) },
      );
      return NOT_AN_ACCOUNT;
    }
  }

  /** Best effort: a failure leaves the count in place (safe) and expires with its window. */
  async function settle(what: string, work: Promise<StoreResult<void>>): Promise<void> {
    const result = await work;
    if (result.ok) return;
    guard.warnOnce(
      `ratelimit.login_${what}_failed.${name}`,
      `login limiter "${name}": could not ${what} after a login attempt (${result.error.message}); the count expires on its own.`,
      { limiter: name },
    );
  }

  function allowed(pairKey: string, clientKeyValue: string): LoginAttempt {
    let done = false;
    return Object.freeze({
      outcome: 'allowed' as const,
      async succeeded() {
        if (done) return;
        done = true;
        // Only this pair's key: the digest of the very account that was reserved and verified.
        await Promise.all([
          settle('reset', pairs.delete(pairKey)),
          settle('refund', clients.refund(clientKeyValue)),
        ]);
      },
      async failed() {
        done = true;
      },
    });
  }

  return {
    name,
    guard,
    async reserve(req, username) {
      const client = clientKey(req);
      const clientStorageKey = storageKey(ipName, client);
      const pairStorageKey = storageKey(pairName, `${accountPart(username)}:${client}`);
      // The client's daily budget first: a client over it never touches a per-account counter.
      const byClient = await clients.reserve(clientStorageKey);
      if (!byClient.ok) return unavailable(byClient.error);
      if (!byClient.value.allowed)
        return blocked(ipName, clientStorageKey, limited('client', byClient.value));
      const byPair = await pairs.reserve(pairStorageKey);
      if (byPair.ok && byPair.value.allowed) return allowed(pairStorageKey, clientStorageKey);
      // No password is checked for this attempt, so it does not use up the client's daily budget.
      await settle('refund', clients.refund(clientStorageKey));
      return byPair.ok
        ? blocked(pairName, pairStorageKey, limited('account_client', byPair.value))
        : unavailable(byPair.error);
    },
    respond(res, attempt): attempt is RefusedLoginAttempt {
      if (attempt.outcome === 'allowed') return false;
      if (attempt.outcome === 'unavailable') {
        sendServiceUnavailable(res, guard, RATE_LIMIT_SERVICE);
        return true;
      }
      guard.report({ type: 'ratelimit.rejected', limiter: attempt.reason === 'client' ? ipName : pairName });
      sendTooManyRequests(res, name, attempt.retryAfterSeconds);
      return true;
    },
  };
}
