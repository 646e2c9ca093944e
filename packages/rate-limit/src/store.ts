import { type RedisGuard, RedisUnavailableError, scrubError } from '@sec/redis-guard';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { toStoreError } from './errors.js';
import { limiterPrefix } from './keys.js';

/**
 * The memory limiter expires keys with setTimeout, which fires at once for delays beyond 2^31-1 ms
 * (about 24.8 days); a 90-day failure window would forget every failure immediately.
 */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** What rate-limiter-flexible needs to count: `points` per `duration` seconds, then a block. */
export interface CounterPolicy {
  readonly name: string;
  readonly points: number;
  readonly duration: number;
  readonly blockDuration: number;
}

/** A counter read or update: the counter state, flagged when it is over the limit. */
export interface Count {
  readonly limited: boolean;
  readonly res: RateLimiterRes;
}

export type StoreResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: RedisUnavailableError };

/**
 * rate-limiter-flexible signals "over the limit" by rejecting with a RateLimiterRes; turn that
 * into a value so only real failures travel as rejections (and reach the breaker as failures).
 */
function settle(promise: Promise<RateLimiterRes>): Promise<Count> {
  return promise.then(
    (res) => ({ limited: false, res }),
    (reason: unknown) => {
      if (reason instanceof RateLimiterRes) return { limited: true, res: reason };
      throw reason instanceof Error ? reason : toStoreError(reason, 1);
    },
  );
}

/**
 * The counters behind one named limiter. In Redis mode every call goes through `guard.execute`,
 * so an outage opens the breaker and later calls fail at once without touching the socket.
 * When Redis cannot answer: fail-closed guards get an `ok: false` result (the caller answers 503);
 * other guards count in this process instead, after one warning. Memory-mode guards count in
 * this process from the start (the guard has already warned).
 */
export class CounterStore {
  readonly #guard: RedisGuard;
  readonly #policy: CounterPolicy;
  readonly #options: { keyPrefix: string; points: number; duration: number; blockDuration: number };
  readonly #redis: RateLimiterRedis | undefined;
  #memory: RateLimiterMemory | undefined;

  constructor(guard: RedisGuard, policy: CounterPolicy) {
    this.#guard = guard;
    this.#policy = policy;
    this.#options = {
      keyPrefix: limiterPrefix(policy.name),
      points: policy.points,
      duration: policy.duration,
      blockDuration: policy.blockDuration,
    };
    if (guard.client) {
      // No insuranceLimiter: it would silently count per process in production (fail open).
      // rejectIfRedisNotReady keeps calls out of ioredis's offline queue while it reconnects.
      this.#redis = new RateLimiterRedis({
        ...this.#options,
        storeClient: guard.client,
        rejectIfRedisNotReady: true,
      });
    }
  }

  consume(key: string, points: number): Promise<StoreResult<Count>> {
    return this.#run((limiter) => settle(limiter.consume(key, points)));
  }

  /** The counter without changing it; `undefined` when the key has no counter. */
  peek(key: string): Promise<StoreResult<Count | undefined>> {
    return this.#run(async (limiter) => {
      const res = await limiter.get(key);
      return res ? { limited: res.consumedPoints > this.#policy.points, res } : undefined;
    });
  }

  delete(key: string): Promise<StoreResult<void>> {
    return this.#run(async (limiter) => {
      await limiter.delete(key);
    });
  }

  async #run<T>(operation: (limiter: RateLimiterAbstract) => Promise<T>): Promise<StoreResult<T>> {
    if (!this.#redis) return { ok: true, value: await operation(this.#fallback()) };
    const redis = this.#redis;
    try {
      return { ok: true, value: await this.#guard.execute(() => operation(redis)) };
    } catch (reason) {
      const error = toStoreError(reason, this.#guard.retryAfterSeconds());
      if (!(reason instanceof RedisUnavailableError)) {
        // A reply error the guard passes on as is (WRONGTYPE, a script bug) is a deployment problem,
        // not an outage: say so. Refusals (OOM, NOREPLICAS, NOPERM…) arrive as RedisUnavailableError.
        this.#guard.warnOnce(`ratelimit.store_error.${this.#policy.name}`, error.message, {
          limiter: this.#policy.name,
          err: scrubError(reason, this.#guard.secrets),
        });
      }
      if (this.#guard.failClosed) return { ok: false, error };
      this.#guard.warnOnce(
        `ratelimit.memory_fallback.${this.#policy.name}`,
        `Redis is unavailable; rate limiter "${this.#policy.name}" counts in this process until it returns ` +
          `because ${this.#guard.environment} does not fail closed. Production answers 503 here.`,
        { limiter: this.#policy.name },
      );
      return { ok: true, value: await operation(this.#fallback()) };
    }
  }

  #fallback(): RateLimiterMemory {
    this.#memory ??= new RateLimiterMemory({
      ...this.#options,
      duration: Math.min(this.#options.duration, MAX_TIMER_SECONDS),
      blockDuration: Math.min(this.#options.blockDuration, MAX_TIMER_SECONDS),
    });
    return this.#memory;
  }
}
