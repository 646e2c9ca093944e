import type { RedisUnavailableError } from '@sec/redis-guard';
import type { WindowCount, WindowState } from './window-store.js';
import type { CounterWindow } from './windows.js';

/**
 * One window (policy) of a limiter for one client, after a request was decided.
 * @example
 * const decision = await limiter.consumeKey('user:42');
 * if (decision.outcome === 'allowed') console.log(decision.info.remaining);
 */
export interface RateLimitInfo {
  /**
   * The policy's name in the `RateLimit` headers: the limiter's name, or `<name>.<seconds>s`
   * (`api.3600s`) for each window of a limiter with several.
   */
  readonly limiter: string;
  /** Requests (points) allowed per window. */
  readonly limit: number;
  /** Window length in seconds. */
  readonly windowSeconds: number;
  /** Points left in this window (0 once it is full). */
  readonly remaining: number;
  /** Seconds until the window (or the block) ends. */
  readonly resetSeconds: number;
}

/**
 * The answer for one request: allowed, limited (answer 429), unavailable (Redis cannot answer and
 * the guard fails closed: answer 503), or skipped by the `skip` option. Never a rejection. `policies`
 * holds every window of the limiter; `info` is the one with the least remaining, the one the
 * `RateLimit` header reports.
 * @example
 * const decision = await limiter.consume(req);
 * if (decision.outcome === 'limited') console.log(decision.retryAfterSeconds);
 */
export type RateLimitDecision =
  | {
      readonly outcome: 'allowed';
      readonly info: RateLimitInfo;
      readonly policies: readonly RateLimitInfo[];
    }
  | {
      readonly outcome: 'limited';
      readonly info: RateLimitInfo;
      readonly policies: readonly RateLimitInfo[];
      readonly retryAfterSeconds: number;
    }
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

/** One window's state as headers and decisions report it. */
export function toInfo(window: CounterWindow, state: WindowState): RateLimitInfo {
  return {
    limiter: window.policy,
    limit: window.points,
    windowSeconds: window.windowMs / 1000,
    remaining: Math.max(0, window.points - state.used),
    resetSeconds: Math.max(0, Math.ceil(state.msBeforeNext / 1000)),
  };
}

/**
 * The allowed or limited decision for a count: every window's info, the one with the least
 * remaining (ties: the one that resets last) as `info`, and when refused, `Retry-After` from the
 * windows that refused: the request fits again once the last of them resets.
 */
export function decide(
  windows: readonly CounterWindow[],
  count: WindowCount,
  cost: number,
): RateLimitDecision {
  const policies = windows.map((window, i) => toInfo(window, count.windows[i]!));
  const info = policies.reduce((least, candidate) =>
    candidate.remaining < least.remaining ||
    (candidate.remaining === least.remaining && candidate.resetSeconds > least.resetSeconds)
      ? candidate
      : least,
  );
  if (count.allowed) return { outcome: 'allowed', info, policies };
  let blockingMs = 0;
  windows.forEach((window, i) => {
    const state = count.windows[i]!;
    if (state.used + cost > window.points) blockingMs = Math.max(blockingMs, state.msBeforeNext);
  });
  return { outcome: 'limited', info, policies, retryAfterSeconds: secondsUntil(blockingMs) };
}
