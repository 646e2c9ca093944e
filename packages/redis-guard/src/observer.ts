import type { BreakerState } from './breaker.js';

/**
 * What a guard reports, by event type: each entry's fields travel with `type` to every observer.
 * This package declares the guard's own events; every other package adds its events where it
 * reports them, by declaration merging, so no package imports another to be measured:
 * ```ts
 * declare module '@sec/redis-guard' {
 *   interface SecEvents {
 *     'orders.placed': { readonly region: string };
 *   }
 * }
 * ```
 */
export interface SecEvents {
  /** The guard's circuit breaker changed state. */
  'breaker.transition': { readonly name: string; readonly from: BreakerState; readonly to: BreakerState };
  /** A 503 was served because Redis could not answer; `service` is named in its body. */
  'unavailable.response': { readonly service: string };
}

/**
 * One reported event: its `type` and that type's fields (see SecEvents). A union over every event
 * type in the program, so a `switch (event.type)` narrows to each one's fields.
 * @example
 * guard.observe((event) => {
 *   if (event.type === 'unavailable.response') console.log(`503 from ${event.service}`);
 * });
 */
export type SecEvent<T extends keyof SecEvents = keyof SecEvents> = {
  [K in T]: { readonly type: K } & Readonly<SecEvents[K]>;
}[T];

/**
 * A subscriber to a guard's events (`guard.observe(observer)`); an observer that throws is logged
 * and the others still run.
 * @example
 * const observer: SecObserver = (event) => console.log(event.type);
 * const stop = guard.observe(observer);
 */
export type SecObserver = (event: SecEvent) => void;
