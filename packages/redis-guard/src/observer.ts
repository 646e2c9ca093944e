import type { BreakerState } from './breaker.js';

/**
 * Everything the @sec packages report. Metrics (in @sec/health) subscribe to this one interface,
 * so no package imports another to be measured.
 */
export type SecEvent =
  | {
      readonly type: 'breaker.transition';
      readonly name: string;
      readonly from: BreakerState;
      readonly to: BreakerState;
    }
  | { readonly type: 'unavailable.response'; readonly service: string }
  | { readonly type: 'ratelimit.rejected'; readonly limiter: string }
  | { readonly type: 'session.revoked'; readonly scope: 'session' | 'user'; readonly count: number }
  | {
      readonly type: 'health.check';
      readonly name: string;
      readonly healthy: boolean;
      readonly latencyMs: number;
    };

/**
 * @example guard.observe((event) => { if (event.type === 'ratelimit.rejected') rejects.inc() });
 */
export type SecObserver = (event: SecEvent) => void;
