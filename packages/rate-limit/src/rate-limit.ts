import { OptionError, type RedisClient, type RedisGuard, sendServiceUnavailable } from '@sec/redis-guard';
import {
  type AdmissionPlan,
  type AdmissionStep,
  type AdmissionVerdict,
  checkOptions,
  nonNegativeInteger,
  positiveInteger,
  scrubError,
  toGuard,
  withSpan,
} from '@sec/redis-guard/internal';
import type { Request, RequestHandler } from 'express';
import { reportBlock } from './audit.js';
import { DEFAULT_IPV6_SUBNET } from './client-ip.js';
import { clientKeyer } from './client-key.js';
import { decide, type RateLimitDecision } from './decision.js';
import { sendTooManyRequests, setRateLimitHeaders } from './headers.js';
import { reserveName, storageKey } from './key-names.js';
import {
  assertCostWithinPoints,
  costOption,
  ipv6SubnetOption,
  redisOption,
  wholeSeconds,
} from './option-rules.js';
import { DEFAULT_FLOOD_SHIELD_KEYS, FloodShield } from './shield.js';
import type { StoreResult } from './store.js';
import { type WindowCount, WindowStore } from './window-store.js';
import { counterWindows, type RateLimitWindow, windowsOption } from './windows.js';

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
  /**
   * Several windows instead of `points` and `windowMs`, e.g. 10 per second and 1000 per hour. A
   * request is allowed only when it fits in every window, and then counted in each.
   */
  windows?: readonly RateLimitWindow[];
  /** Once over the limit, refuse for this long (ms, a multiple of 1000) instead of until the window ends. Default 0. */
  blockDurationMs?: number;
  /**
   * Over-limit client keys this process remembers, to refuse them without asking Redis until their
   * window resets (least recently refused forgotten first). 0 turns this off. Default 10000.
   */
  floodShieldKeys?: number;
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
 * (WebSocket upgrades, GraphQL resolvers, queue consumers). It is also an admission step: pass it
 * to `sessions.authenticate({ with: [limiter] })` of @sec/session to decide it in the session
 * check's round trip.
 * @example
 * const perUser = rateLimit({ redis, name: 'per-user', points: 50 });
 * const decision = await perUser.consumeKey(`user:${userId}`);
 * if (decision.outcome !== 'allowed') throw new Error('slow down'); // e.g. a GraphQL error
 */
export interface RateLimiter extends RequestHandler, AdmissionStep {
  readonly limiterName: string;
  /** Points of the shortest window. */
  readonly points: number;
  /** Length in ms of the shortest window. */
  readonly windowMs: number;
  /** Every window, shortest first. */
  readonly windows: readonly RateLimitWindow[];
  readonly guard: RedisGuard;
  /** Counts the request (skip, keyBy and cost applied) and decides. Never rejects. */
  consume(req: Request): Promise<RateLimitDecision>;
  /** Counts `cost` points against an explicit key (the same keys `keyBy` returns). Never rejects. */
  consumeKey(key: string, cost?: number): Promise<RateLimitDecision>;
  /**
   * Forgets a key's counts and block (and this process's flood-shield entry for it; other processes
   * keep refusing it until its window would have reset). Rejects with RedisUnavailableError when
   * Redis cannot answer.
   */
  reset(key: string): Promise<void>;
}

const SKIPPED: RateLimitDecision = { outcome: 'skipped' };
const PASS: AdmissionVerdict = { kind: 'pass' };

/**
 * Fail-closed rate limiting, every window of a client decided by one atomic Redis script, with a
 * per-process flood shield for clients Redis has already refused. Over the limit: 429
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
    windows: windowsOption,
    blockDurationMs: wholeSeconds(0),
    keyBy: 'function',
    cost: costOption,
    skip: 'function',
    headers: 'boolean',
    ipv6Subnet: ipv6SubnetOption,
    floodShieldKeys: nonNegativeInteger,
  });
  if (options.windows && (options.points !== undefined || options.windowMs !== undefined)) {
    const both = options.points !== undefined ? 'points' : 'windowMs';
    throw new OptionError(
      both,
      `rateLimit(): option "${both}" cannot be combined with "windows"; put each window's points and windowMs in "windows"`,
    );
  }
  const name = options.name ?? DEFAULT_LIMITER_NAME;
  const windows = counterWindows(
    name,
    options.windows ?? [
      { points: options.points ?? DEFAULT_POINTS, windowMs: options.windowMs ?? DEFAULT_WINDOW_MS },
    ],
  );
  const fewest = Math.min(...windows.map((window) => window.points));
  assertCostWithinPoints('rateLimit', options.cost, fewest);
  const guard = toGuard(options.redis);
  reserveName(guard, name, 'rateLimit');
  const store = new WindowStore(guard, name, windows, options.blockDurationMs ?? DEFAULT_BLOCK_DURATION_MS);
  const shieldKeys = options.floodShieldKeys ?? DEFAULT_FLOOD_SHIELD_KEYS;
  // In memory mode every count is local already: nothing to shield Redis from.
  const shield = store.redis && shieldKeys > 0 ? new FloodShield(shieldKeys) : undefined;
  const { keyBy, skip, cost = 1 } = options;
  const sendHeaders = options.headers ?? true;
  const clientIpKey = clientKeyer(guard, name, options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET);

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
      const message = `rate limiter "${name}": ${what} threw; ${instead}.`;
      guard.warnOnce(`ratelimit.${what}_threw.${name}`, message, {
        limiter: name,
        err: scrubError(error, guard.secrets()),
      });
      return fallback;
    }
  }

  function validCost(value: unknown): number {
    if (Number.isInteger(value) && (value as number) > 0) return value as number;
    const message = `rate limiter "${name}": cost ${String(value)} is not a positive integer; using 1.`;
    guard.warnOnce(`ratelimit.cost_invalid.${name}`, message, { limiter: name });
    return 1;
  }

  async function requestKey(req: Request): Promise<string> {
    if (!keyBy) return clientIpKey(req);
    const custom = await userCall('keyBy', () => keyBy(req), undefined, 'counting the request by client IP');
    if (typeof custom === 'string' && custom !== '') return custom;
    if (typeof custom === 'number' && Number.isFinite(custom)) return String(custom);
    return clientIpKey(req);
  }

  /** The decision for a count from Redis (or memory); a refusal with a full window arms the shield. */
  function settle(key: string, points: number, result: StoreResult<WindowCount>, sentAt: number) {
    if (!result.ok) {
      const decision: RateLimitDecision = {
        outcome: 'unavailable',
        error: result.error,
        retryAfterSeconds: result.error.retryAfterSeconds,
      };
      return decision;
    }
    shield?.record(key, windows, result.value, sentAt);
    const decision = decide(windows, result.value, points);
    if (decision.outcome === 'limited') reportBlock(guard, name, key, decision.retryAfterSeconds);
    return decision;
  }

  /**
   * Counts a request against a storage key, unless the shield already knows it is refused. One span
   * per decision: the limiter's name and outcome, never the client's key.
   */
  function count(counted: string, points: number): Promise<RateLimitDecision> {
    return withSpan(
      '@sec/rate-limit',
      'sec.ratelimit.decision',
      { 'sec.ratelimit.limiter': name },
      async () => {
        const refusing = shield?.refusing(counted);
        if (refusing) return decide(windows, refusing, points);
        const sentAt = performance.now();
        return settle(counted, points, await store.consume(counted, points), sentAt);
      },
      (decision) => ({
        'sec.ratelimit.outcome': decision.outcome,
        ...('info' in decision && { 'sec.ratelimit.remaining': decision.info.remaining }),
      }),
    );
  }

  function consumeKey(key: string, points = 1): Promise<RateLimitDecision> {
    return count(storageKey(name, String(key)), validCost(points));
  }

  /** skip, keyBy and cost applied: the request's storage key and cost, or undefined when skipped. */
  async function measure(req: Request): Promise<{ counted: string; points: number } | undefined> {
    if (skip && (await userCall('skip', () => skip(req), false, 'counting the request'))) return undefined;
    const key = await requestKey(req);
    const points =
      typeof cost === 'function' ? await userCall('cost', () => cost(req), 1, 'counting it at cost 1') : cost;
    return { counted: storageKey(name, key), points: validCost(points) };
  }

  async function consume(req: Request): Promise<RateLimitDecision> {
    const measured = await measure(req);
    if (!measured) return SKIPPED;
    return count(measured.counted, measured.points);
  }

  /** The decision as a response: headers and next() when allowed, else the 429 or 503. */
  function verdict(decision: RateLimitDecision): AdmissionVerdict {
    switch (decision.outcome) {
      case 'skipped':
        return PASS;
      case 'allowed':
        return sendHeaders
          ? { kind: 'pass', apply: (res) => setRateLimitHeaders(res, decision.info, decision.policies) }
          : PASS;
      case 'limited':
        return {
          kind: 'refuse',
          status: 429,
          send: (res) => {
            if (sendHeaders) setRateLimitHeaders(res, decision.info, decision.policies);
            guard.report({ type: 'ratelimit.rejected', limiter: name });
            sendTooManyRequests(res, name, decision.retryAfterSeconds);
          },
        };
      case 'unavailable':
        return {
          kind: 'refuse',
          status: 503,
          send: (res) => sendServiceUnavailable(res, guard, RATE_LIMIT_SERVICE),
        };
    }
  }

  async function planAdmission(req: Request): Promise<AdmissionPlan> {
    const measured = await measure(req);
    if (!measured) return { verdict: PASS };
    const { counted, points } = measured;
    const refusing = shield?.refusing(counted);
    if (refusing) return { verdict: verdict(decide(windows, refusing, points)) };
    const call = store.call(counted, points);
    if (!store.redis) return { verdict: verdict(decide(windows, store.inMemory(call), points)) };
    const sentAt = performance.now();
    return {
      work: {
        slotKey: call.keys[0]!,
        send: (target) => [store.send(target, call)],
        read: ([reply]) => verdict(settle(counted, points, { ok: true, value: store.read(reply) }, sentAt)),
      },
      fail: async (error) => verdict(settle(counted, points, await store.failed(call, error), sentAt)),
    };
  }

  const middleware: RequestHandler = (req, res, next) => {
    consume(req).then((decision) => {
      const answer = verdict(decision);
      if (answer.kind === 'refuse') return answer.send(res);
      answer.apply?.(res);
      next();
    }, next);
  };

  return Object.assign(middleware, {
    limiterName: name,
    points: windows[0]!.points,
    windowMs: windows[0]!.windowMs,
    windows: windows.map(({ points, windowMs }) => ({ points, windowMs })),
    guard,
    consume,
    consumeKey,
    planAdmission,
    async reset(key: string) {
      const counted = storageKey(name, String(key));
      shield?.forget(counted);
      const result = await store.delete(counted);
      if (!result.ok) throw result.error;
    },
  });
}
