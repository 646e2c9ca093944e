import type { RedisUnavailableError } from '@sec/redis-guard';
import type { RateLimiterRes } from 'rate-limiter-flexible';
import type { CounterPolicy } from './store.js';

/**
 * A limiter's state for one client after a request was counted.
 * @example
 * const decision = await limiter.consumeKey('user:42');
 * if (decision.outcome === 'allowed') console.log(decision.info.remaining);
 */
export interface RateLimitInfo {
  /** The limiter's name, as in the `RateLimit` headers. */
  readonly limiter: string;
  /** Requests (points) allowed per window. */
  readonly limit: number;
  /** Window length in seconds. */
  readonly windowSeconds: number;
  /** Points left in this window (0 once limited). */
  readonly remaining: number;
  /** Seconds until the window (or the block) ends. */
  readonly resetSeconds: number;
}

/**
 * The answer for one request: allowed, limited (answer 429), unavailable (Redis cannot answer and
 * the guard fails closed: answer 503), or skipped by the `skip` option. Never a rejection.
 * @example
 * const decision = await limiter.consume(req);
 * if (decision.outcome === 'limited') console.log(decision.retryAfterSeconds);
 */
export type RateLimitDecision =
  | { readonly outcome: 'allowed'; readonly info: RateLimitInfo }
  | { readonly outcome: 'limited'; readonly info: RateLimitInfo; readonly retryAfterSeconds: number }
  | {
      readonly outcome: 'unavailable';
      readonly error: RedisUnavailableError;
      readonly retryAfterSeconds: number;
    }
  | { readonly outcome: 'skipped' };

/** Whole seconds, at least 1: a `Retry-After: 0` invites an immediate retry storm. */
export function secondsUntil(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

export function toInfo(policy: CounterPolicy, res: RateLimiterRes): RateLimitInfo {
  return {
    limiter: policy.name,
    limit: policy.points,
    windowSeconds: policy.windowMs / 1000,
    remaining: Math.max(0, policy.points - res.consumedPoints),
    // pttl is -1 for a key without expiry and -2 for a vanished one; neither should leak out.
    resetSeconds: res.msBeforeNext > 0 ? Math.ceil(res.msBeforeNext / 1000) : 0,
  };
}
