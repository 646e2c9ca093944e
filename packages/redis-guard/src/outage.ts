import { RedisGuardErrorCode as Code, RedisUnavailableError, type SecErrorCode } from './errors.js';

/** Retry-After while the client reconnects but the breaker is still closed. */
export const DEFAULT_RETRY_AFTER_SECONDS = 2;

/** A RedisUnavailableError with the optional parts set only when given. */
export function unavailable(
  code: SecErrorCode,
  message: string,
  retryAfter: number,
  cause?: unknown,
  service?: string,
): RedisUnavailableError {
  return new RedisUnavailableError(code, message, retryAfter, {
    ...(cause !== undefined && { cause }),
    ...(service !== undefined && { service }),
  });
}

/**
 * What a failed Redis call means, for the guard and for code that talks to a client directly:
 * - `outage`: the link or the server cannot answer (connection errors, timeouts, `LOADING`, `BUSY`,
 *   `MASTERDOWN`, `CLUSTERDOWN`, `READONLY`, `TRYAGAIN`, `NOAUTH`, `WRONGPASS`). Counts against the
 *   circuit breaker: more calls would only wait and fail the same way.
 * - `write-refused`: the server answers but refuses writes (`NOREPLICAS` from min-replicas-to-write,
 *   `OOM` under maxmemory + noeviction, `MISCONF` after a failed RDB save). Reads still work and a
 *   PING still succeeds, so opening the breaker would turn a write problem into a full outage and
 *   then flap on every probe; it does not count.
 * - `permission`: `NOPERM`, the ACL user lacks a command, key or channel. A configuration error that
 *   concerns one command, not the link; it does not count.
 * - `caller`: a bug in the call (`WRONGTYPE`, `CROSSSLOT`, a syntax error), thrown as it is.
 * Everything but `caller` reaches callers as a RedisUnavailableError (503).
 * @example if (classifyRedisError(error) === 'write-refused') console.warn('Redis refuses writes; reads still work');
 */
export type RedisErrorKind = 'outage' | 'write-refused' | 'permission' | 'caller';

const OUTAGE_REPLIES = /^(NOAUTH|WRONGPASS|LOADING|MASTERDOWN|CLUSTERDOWN|READONLY|TRYAGAIN|BUSY)\b/;
const WRITE_REFUSALS = /^(NOREPLICAS|OOM|MISCONF)\b/;
// Redis 7.0 reports an ACL denial inside a script as ERR; later versions as NOPERM.
const SCRIPT_DENIED = /^ERR The user executing the script can't /;
// Redis 6 wraps an error raised inside a script: "ERR Error running script (call to f_…): @user_script:1: -OOM …".
const SCRIPT_WRAPPED = /^ERR Error running script\b.*?: -([A-Z]+) /s;

/** The reply that decides: a transaction aborted by a queued command's error is judged by that error. */
export function decisiveReply(error: Error): string {
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  if (error.message.startsWith('EXECABORT') && Array.isArray(previous) && previous[0] instanceof Error) {
    return previous[0].message;
  }
  const wrapped = SCRIPT_WRAPPED.exec(error.message);
  return wrapped ? `${wrapped[1]} ${error.message}` : error.message;
}

/**
 * Sorts an error from a Redis call into one of the RedisErrorKind classes.
 * @example
 * try {
 *   await redisClient.set('greeting', 'hello');
 * } catch (error) {
 *   console.log(classifyRedisError(error)); // 'outage', 'write-refused', 'permission' or 'caller'
 * }
 */
export function classifyRedisError(error: unknown): RedisErrorKind {
  if (!(error instanceof Error)) return 'outage';
  if (error instanceof RedisUnavailableError) return 'outage';
  // ioredis's own verdict on a cross-slot pipeline is a caller bug, not a Redis outage.
  if (/should belong to the same slot/.test(error.message)) return 'caller';
  if (error.name !== 'ReplyError') return 'outage';
  const reply = decisiveReply(error);
  if (OUTAGE_REPLIES.test(reply)) return 'outage';
  if (WRITE_REFUSALS.test(reply)) return 'write-refused';
  if (reply.startsWith('NOPERM') || SCRIPT_DENIED.test(reply)) return 'permission';
  return 'caller';
}

/** A command that got no answer in time, as opposed to an error reply or a closed connection. */
export function isTimeoutError(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return error.code === Code.Timeout;
  return error instanceof Error && /^Command timed out/.test(error.message);
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
