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
  /** A start-up posture rule did not pass (see assertRedisPosture); `code` is the finding's. */
  'posture.warning': {
    readonly redis: string;
    readonly rule: string;
    readonly status: string;
    readonly code: string;
    readonly setting: string;
  };
  /** An audit trail entry could not be written; the event it was for is `eventType`. */
  'audit.write_failed': { readonly eventType: string; readonly reason: string };
}

/**
 * How a reported event goes to the audit trail (see createAuditTrail); events reported without
 * one are for observers and metrics only.
 * @example
 * guard.report({ type: 'ratelimit.rejected', limiter: 'api' }, { once: { key: 'api:203.0.113.9', windowMs: 60_000 } });
 */
export interface AuditHint {
  /** The user the event concerns, as the app names users (never a credential). */
  readonly user?: string;
  /**
   * At most one entry per `key` per `windowMs`: a burst (an attack's thousands of refusals) adds
   * one entry, not thousands. `key` is stored only as a fingerprint.
   */
  readonly once?: { readonly key: string; readonly windowMs: number };
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
 * and the others still run. `audit` is set for the events that belong in the audit trail.
 * @example
 * const observer: SecObserver = (event, audit) => console.log(event.type, audit ? '(audited)' : '');
 * const stop = guard.observe(observer);
 */
export type SecObserver = (event: SecEvent, audit?: AuditHint) => void;
