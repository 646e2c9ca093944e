import { ConfigurationError, RedisUnavailableError } from '@sec/redis-guard';

/**
 * Every code thrown or reported by @sec/rate-limit (each is in the README's table), and the type of
 * those codes.
 * @example
 * try {
 *   rateLimit({ name: 'api' });
 * } catch (error) {
 *   if (error instanceof SecError && error.code === RateLimitErrorCode.DuplicateName) console.error('rename one limiter');
 * }
 */
export const RateLimitErrorCode = {
  DuplicateName: 'ERR_SEC_RATE_LIMIT_DUPLICATE_NAME',
  InvalidName: 'ERR_SEC_RATE_LIMIT_INVALID_NAME',
  StoreFailed: 'ERR_SEC_RATE_LIMIT_STORE_FAILED',
} as const;

export type RateLimitErrorCode = (typeof RateLimitErrorCode)[keyof typeof RateLimitErrorCode];

declare module '@sec/redis-guard' {
  interface SecErrorCodes extends Record<RateLimitErrorCode, true> {}
}

/**
 * Two limiters on one guard were given the same `name`, so they would count into the same Redis
 * keys and throttle each other. Thrown at creation.
 * @example
 * rateLimit({ redis: guard, name: 'api' });
 * rateLimit({ redis: guard, name: 'api' }); // throws RateLimitNameError (ERR_SEC_RATE_LIMIT_DUPLICATE_NAME)
 */
export class RateLimitNameError extends ConfigurationError {}

/**
 * rate-limiter-flexible rejects with whatever its store threw, and with non-Error values; this
 * turns any of them into an Error that callers can rely on, with the secrets already removed.
 */
export function toStoreError(reason: unknown, retryAfterSeconds: number): RedisUnavailableError {
  if (reason instanceof RedisUnavailableError) return reason;
  const message = reason instanceof Error ? reason.message : `non-Error rejection: ${String(reason)}`;
  return new RedisUnavailableError(
    RateLimitErrorCode.StoreFailed,
    `rate-limit store call failed: ${message}`,
    retryAfterSeconds,
    { cause: reason },
  );
}
