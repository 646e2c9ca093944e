import type { RedisClient } from './client.js';
import { RedisGuardErrorCode as Code, RedisUnavailableError } from './errors.js';

/** Retry-After while the client reconnects but the breaker is still closed. */
export const DEFAULT_RETRY_AFTER_SECONDS = 2;

export function unavailable(
  code: string,
  message: string,
  retryAfter: number,
  cause?: unknown,
): RedisUnavailableError {
  return new RedisUnavailableError(code, message, retryAfter, cause === undefined ? undefined : { cause });
}

/**
 * Errors that mean "Redis cannot answer", as opposed to a bad command (WRONGTYPE, syntax): only
 * these count against the circuit breaker.
 * @example if (isOutageError(error)) breaker.recordFailure(error.message);
 */
export function isOutageError(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  if (error instanceof RedisUnavailableError) return true;
  // ioredis's own verdict on a cross-slot pipeline is a caller bug, not a Redis outage.
  if (/should belong to the same slot/.test(error.message)) return false;
  if (error.name !== 'ReplyError') return true;
  return /^(NOAUTH|WRONGPASS|LOADING|MASTERDOWN|CLUSTERDOWN|READONLY|TRYAGAIN|BUSY)/.test(error.message);
}

/** Rejects with ERR_SEC_REDIS_TIMEOUT when `promise` has not settled after `ms`. */
export function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          unavailable(Code.Timeout, `Redis did not answer within ${ms} ms`, DEFAULT_RETRY_AFTER_SECONDS),
        ),
      ms,
    );
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** True when ioredis itself bounds every command of this client. */
export function hasCommandTimeout(client: RedisClient): boolean {
  const options = client.options as { commandTimeout?: number; redisOptions?: { commandTimeout?: number } };
  const ms = options.commandTimeout ?? options.redisOptions?.commandTimeout;
  return typeof ms === 'number' && ms > 0;
}
