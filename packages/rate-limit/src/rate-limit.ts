import { type RedisClient, type RedisGuard, sendServiceUnavailable } from '@sec/redis-guard';
import { checkOptions, positiveInteger, scrubError, toGuard, withSpan } from '@sec/redis-guard/internal';
import type { Request, RequestHandler } from 'express';
import { reportBlock } from './audit.js';
import { DEFAULT_IPV6_SUBNET } from './client-ip.js';
import { clientKeyer } from './client-key.js';
import { type RateLimitDecision, secondsUntil, toInfo } from './decision.js';
import { sendTooManyRequests, setRateLimitHeaders } from './headers.js';
import { reserveName, storageKey } from './key-names.js';
import {
  assertCostWithinPoints,
  costOption,
  ipv6SubnetOption,
  redisOption,
  wholeSeconds,
} from './option-rules.js';
import { type CounterPolicy, CounterStore } from './store.js';

declare module '@sec/redis-guard' {
  interface SecEvents {
    /** A request refused with 429 by the named limiter (for a login limiter: the budget that was spent). */
    'ratelimit.rejected': { readonly limiter: string };
  }
}

/** Name of a limiter created without `name`. */
export const DEFAULT_LIMITER_NAME = 'global';
/** Requests per window when `points` is not given. */
export const DEFAULT_POINTS = 100;
/** Window length when `windowMs` is not given: one minute. */
export const DEFAULT_WINDOW_MS = 60_000;
/** 0: once the window's points are spent, refuse only until the window ends. */
export const DEFAULT_BLOCK_DURATION_MS = 0;
/** The service named in 503 bodies and `unavailable.response` events. */
export const RATE_LIMIT_SERVICE = 'rate-limit';

type MaybePromise<T> = T | Promise<T>;

/**
 * Options of `rateLimit()`; all optional, all checked when the limiter is created.
 * @example const options: RateLimitOptions = { name: 'search', points: 10, windowMs: 60_000 };
 */
export type RateLimitOptions = Readonly<{
  /** A RedisGuard (recommended: share one across packages), an ioredis client, or omitted (from `process.env`). */
  redis?: RedisGuard | RedisClient;
  /** Distinguishes limiters on one guard, in Redis keys and headers. Default `'global'`. */
  name?: string;
  /** Requests (points) allowed per window. Default 100. */
  points?: number;
  /** Window length in ms, a whole number of seconds (a multiple of 1000). Default 60000. */
  windowMs?: number;
  /** Once over the limit, refuse for this long (ms, a multiple of 1000) instead of until the window ends. Default 0. */
  blockDurationMs?: number;
  /**
   * The client key; default: `req.ip` (honours Express `trust proxy`), IPv6 grouped by
   * `ipv6Subnet`. Returning `undefined` or `''` (e.g. not logged in) counts the request by IP.
   */
  keyBy?: (req: Request) => MaybePromise<string | number | undefined | null>;
  /** Points this request costs: a positive integer or a function of the request. Default 1. */
  cost?: number | ((req: Request) => MaybePromise<number>);
  /** Return true to let a request through uncounted (health checks, allow-listed clients). */
  skip?: (req: Request) => MaybePromise<boolean>;
  /** Send `RateLimit-Policy` and `RateLimit` on every counted response. Default true. */
  headers?: boolean;
  /** IPv6 prefix length that counts as one client. Default 56. */
  ipv6Subnet?: number;
}>;

/**
 * The Express middleware `rateLimit()` returns, plus the same decision for other transports
 * (WebSocket upgrades, GraphQL resolvers, queue consumers).
 * @example
 * const perUser = rateLimit({ redis, name: 'per-user', points: 50 });
 * const decision = await perUser.consumeKey(`user:${userId}`);
 * if (decision.outcome !== 'allowed') throw new Error('slow down'); // e.g. a GraphQL error
 */
export interface RateLimiter extends RequestHandler {
  readonly limiterName: string;
  readonly points: number;
  /** Window length in ms. */
  readonly windowMs: number;
  readonly guard: RedisGuard;
  /** Counts the request (skip, keyBy and cost applied) and decides. Never rejects. */
  consume(req: Request): Promise<RateLimitDecision>;
  /** Counts `cost` points against an explicit key (the same keys `keyBy` returns). Never rejects. */
  consumeKey(key: string, cost?: number): Promise<RateLimitDecision>;
  /** Forgets a key's count and block; rejects with RedisUnavailableError when Redis cannot answer. */
  reset(key: string): Promise<void>;
}

const SKIPPED: RateLimitDecision = { outcome: 'skipped' };

/**
 * Fail-closed rate limiting on rate-limiter-flexible's atomic Redis limiter. Over the limit: 429
 * with `Retry-After`, `RateLimit-Policy` and `RateLimit` headers and a JSON body. Redis unavailable
 * in production or staging: 503 at once, never `next()`. In development and test a memory counter
 * stands in, with one warning.
 * @example
 * import express from 'express';
 * import { createRedisGuard } from '@sec/redis-guard';
 * import { rateLimit } from '@sec/rate-limit';
 *
 * const redis = createRedisGuard();
 * const app = express();
 * app.set('trust proxy', 1);
 * app.use(rateLimit({ redis, name: 'global', points: 300, windowMs: 60_000 }));
 * app.post('/api/search', rateLimit({ redis, name: 'search', points: 10, windowMs: 60_000, keyBy: (req) => req.get('x-api-key') }));
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimiter {
  checkOptions('rateLimit', options, {
    redis: redisOption,
    name: 'string',
    points: positiveInteger,
    windowMs: wholeSeconds(1000),
    blockDurationMs: wholeSeconds(0),
    keyBy: 'function',
    cost: costOption,
    skip: 'function',
    headers: 'boolean',
    ipv6Subnet: ipv6SubnetOption,
  });
  const policy: CounterPolicy = {
    name: options.name ?? DEFAULT_LIMITER_NAME,
    points: options.points ?? DEFAULT_POINTS,
    windowMs: options.windowMs ?? DEFAULT_WINDOW_MS,
    blockDurationMs: options.blockDurationMs ?? DEFAULT_BLOCK_DURATION_MS,
  };
  assertCostWithinPoints('rateLimit', options.cost, policy.points);
  const guard = toGuard(options.redis);
  reserveName(guard, policy.name, 'rateLimit');
  const store = new CounterStore(guard, policy);
  const { keyBy, skip, cost = 1 } = options;
  const sendHeaders = options.headers ?? true;
  const clientIpKey = clientKeyer(guard, policy.name, options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET);

  // A throwing keyBy/skip/cost is the app's bug; counting the request anyway (by IP, at cost 1)
  // keeps the limit in force and the request answered instead of turning it into a 500.
  async function userCall<T>(
    what: string,
    fn: () => MaybePromise<T>,
    fallback: T,
    instead: string,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const message = `rate limiter "${policy.name}": ${what} threw; ${instead}.`;
      guard.warnOnce(`ratelimit.${what}_threw.${policy.name}`, message, {
        limiter: policy.name,
        err: scrubError(error, guard.secrets()),
      });
      return fallback;
    }
  }

  function validCost(value: unknown): number {
    if (Number.isInteger(value) && (value as number) > 0) return value as number;
    const message = `rate limiter "${policy.name}": cost ${String(value)} is not a positive integer; using 1.`;
    guard.warnOnce(`ratelimit.cost_invalid.${policy.name}`, message, { limiter: policy.name });
    return 1;
  }

  async function requestKey(req: Request): Promise<string> {
    if (!keyBy) return clientIpKey(req);
    const custom = await userCall('keyBy', () => keyBy(req), undefined, 'counting the request by client IP');
    if (typeof custom === 'string' && custom !== '') return custom;
    if (typeof custom === 'number' && Number.isFinite(custom)) return String(custom);
    return clientIpKey(req);
  }

  // One span per decision: the limiter's name and outcome, never the client's key.
  function consumeKey(key: string, points = 1): Promise<RateLimitDecision> {
    return withSpan(
      '@sec/rate-limit',
      'sec.ratelimit.decision',
      { 'sec.ratelimit.limiter': policy.name },
      () => decideKey(key, points),
      (decision) => ({
        'sec.ratelimit.outcome': decision.outcome,
        ...('info' in decision && { 'sec.ratelimit.remaining': decision.info.remaining }),
      }),
    );
  }

  async function decideKey(key: string, points: number): Promise<RateLimitDecision> {
    const result = await store.consume(storageKey(policy.name, String(key)), validCost(points));
    if (!result.ok) {
      return {
        outcome: 'unavailable',
        error: result.error,
        retryAfterSeconds: result.error.retryAfterSeconds,
      };
    }
    const info = toInfo(policy, result.value.res);
    if (!result.value.limited) return { outcome: 'allowed', info };
    const retryAfterSeconds = secondsUntil(result.value.res.msBeforeNext);
    reportBlock(guard, policy.name, String(key), retryAfterSeconds);
    return { outcome: 'limited', info, retryAfterSeconds };
  }

  async function consume(req: Request): Promise<RateLimitDecision> {
    if (skip && (await userCall('skip', () => skip(req), false, 'counting the request'))) return SKIPPED;
    const key = await requestKey(req);
    const points =
      typeof cost === 'function' ? await userCall('cost', () => cost(req), 1, 'counting it at cost 1') : cost;
    return consumeKey(key, points);
  }

  const middleware: RequestHandler = (req, res, next) => {
    consume(req).then((decision) => {
      switch (decision.outcome) {
        case 'skipped':
          return next();
        case 'allowed':
          if (sendHeaders) setRateLimitHeaders(res, decision.info);
          return next();
        case 'limited':
          if (sendHeaders) setRateLimitHeaders(res, decision.info);
          guard.report({ type: 'ratelimit.rejected', limiter: policy.name });
          return sendTooManyRequests(res, policy.name, decision.retryAfterSeconds);
        case 'unavailable':
          return sendServiceUnavailable(res, guard, RATE_LIMIT_SERVICE);
      }
    }, next);
  };

  return Object.assign(middleware, {
    limiterName: policy.name,
    points: policy.points,
    windowMs: policy.windowMs,
    guard,
    consume,
    consumeKey,
    async reset(key: string) {
      const result = await store.delete(storageKey(policy.name, String(key)));
      if (!result.ok) throw result.error;
    },
  });
}
