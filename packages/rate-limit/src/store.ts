import { type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import { scrubError } from '@sec/redis-guard/internal';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { toStoreError } from './errors.js';
import { limiterPrefix } from './key-names.js';
import { defineScripts, type ScriptedClient } from './scripts.js';

/**
 * The memory limiter expires keys with setTimeout, which fires at once for delays beyond 2^31-1 ms
 * (about 24.8 days); a 90-day failure window would forget every failure immediately.
 */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** What a limiter counts: `points` per window of `windowMs`, then a block of `blockDurationMs` (whole seconds both). */
export interface CounterPolicy {
  readonly name: string;
  readonly points: number;
  readonly windowMs: number;
  readonly blockDurationMs: number;
}

/** A counter read or update: the counter state, flagged when it is over the limit. */
export interface Count {
  readonly limited: boolean;
  readonly res: RateLimiterRes;
}

/** A reservation: the counter after this attempt was counted, and whether it fits the limit. */
export interface Reservation {
  readonly allowed: boolean;
  /** Attempts counted in this window, this one included. */
  readonly used: number;
  /** Milliseconds until the window (or the block) ends. */
  readonly msBeforeNext: number;
}

export type StoreResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: RedisUnavailableError };

/**
 * Runs `viaRedis` through the guard, or `inMemory` on the process-local counters: in memory mode
 * (`viaRedis` undefined), and during Redis outages on guards that do not fail closed. A fail-closed
 * guard (the default) gets `ok: false` instead, and its caller answers 503.
 */
export async function runCounted<T>(
  guard: RedisGuard,
  limiter: string,
  viaRedis: (() => Promise<T>) | undefined,
  inMemory: () => Promise<T> | T,
): Promise<StoreResult<T>> {
  if (!viaRedis) return { ok: true, value: await inMemory() };
  try {
    return { ok: true, value: await guard.execute(viaRedis) };
  } catch (reason) {
    return failedCall(guard, limiter, reason, inMemory);
  }
}

/** What a failed Redis call of a limiter resolves to: 503 on fail-closed guards, else the memory count. */
export async function failedCall<T>(
  guard: RedisGuard,
  limiter: string,
  reason: unknown,
  inMemory: () => Promise<T> | T,
): Promise<StoreResult<T>> {
  const error = toStoreError(reason, guard.retryAfterSeconds());
  if (!(reason instanceof RedisUnavailableError)) {
    // A reply error the guard passes on as is (WRONGTYPE, a script bug) is a deployment problem,
    // not an outage: say so. Refusals (OOM, NOREPLICAS, NOPERM…) arrive as RedisUnavailableError.
    guard.warnOnce(`ratelimit.store_error.${limiter}`, error.message, {
      limiter,
      err: scrubError(reason, guard.secrets()),
    });
  }
  if (guard.failClosed) return { ok: false, error };
  guard.warnOnce(
    `ratelimit.memory_fallback.${limiter}`,
    `Redis is unavailable; rate limiter "${limiter}" counts in this process until it returns ` +
      'because the guard was created with failClosed: false. With the default, requests answer 503 here.',
    { limiter },
  );
  return { ok: true, value: await inMemory() };
}

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
 * When Redis cannot answer: fail-closed guards (the default, in every environment) get an
 * `ok: false` result (the caller answers 503); a guard created with `failClosed: false` counts in
 * this process instead, after one warning. Memory-mode guards (no Redis configured) count in this
 * process from the start (the guard has already warned).
 */
export class CounterStore {
  readonly #guard: RedisGuard;
  readonly #policy: CounterPolicy;
  readonly #options: { keyPrefix: string; points: number; duration: number; blockDuration: number };
  readonly #redis: RateLimiterRedis | undefined;
  readonly #scripts: ScriptedClient | undefined;
  #memory: RateLimiterMemory | undefined;

  constructor(guard: RedisGuard, policy: CounterPolicy) {
    this.#guard = guard;
    this.#policy = policy;
    // rate-limiter-flexible counts in seconds; the policy's ms are whole seconds (checked at creation).
    this.#options = {
      keyPrefix: limiterPrefix(guard, policy.name),
      points: policy.points,
      duration: policy.windowMs / 1000,
      blockDuration: policy.blockDurationMs / 1000,
    };
    if (guard.client) {
      // No insuranceLimiter: it would silently count per process in production (fail open).
      // rejectIfRedisNotReady keeps calls out of ioredis's offline queue while it reconnects.
      this.#redis = new RateLimiterRedis({
        ...this.#options,
        storeClient: guard.client,
        rejectIfRedisNotReady: true,
      });
      this.#scripts = defineScripts(guard.client);
    }
  }

  delete(key: string): Promise<StoreResult<void>> {
    return this.#run(
      async () => void (await this.#redis!.delete(key)),
      async (memory) => void (await memory.delete(key)),
    );
  }

  /**
   * Counts one attempt and says whether it fits `points`: exact under any concurrency, because the
   * count and the decision are one atomic step (one script in Redis, one synchronous step in memory).
   */
  reserve(key: string): Promise<StoreResult<Reservation>> {
    const { points, windowMs, blockDurationMs } = this.#policy;
    return this.#run(
      async () => {
        const [used, ttl] = await this.#scripts!.secRateLimitReserve(
          this.#redis!.getKey(key),
          points,
          windowMs,
          blockDurationMs,
        );
        return { allowed: used <= points, used, msBeforeNext: ttl };
      },
      async (memory) => {
        const { limited, res } = await settle(memory.consume(key, 1));
        return { allowed: !limited, used: res.consumedPoints, msBeforeNext: res.msBeforeNext };
      },
    );
  }

  /** Gives back one reserved attempt; a counter that has expired in the meantime stays gone. */
  refund(key: string): Promise<StoreResult<void>> {
    return this.#run(
      async () => void (await this.#scripts!.secRateLimitRefund(this.#redis!.getKey(key))),
      async (memory) => {
        if (((await memory.get(key))?.consumedPoints ?? 0) > 0) await memory.reward(key, 1);
      },
    );
  }

  #run<T>(
    viaRedis: () => Promise<T>,
    inMemory: (memory: RateLimiterMemory) => Promise<T>,
  ): Promise<StoreResult<T>> {
    return runCounted(this.#guard, this.#policy.name, this.#redis ? viaRedis : undefined, () =>
      inMemory(this.#fallback()),
    );
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
