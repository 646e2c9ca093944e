import { EventEmitter } from 'node:events';
import type { Logger } from './logger.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_OPEN_DURATION_MS = 30_000;
export const DEFAULT_SUCCESS_THRESHOLD = 2;
/** While open, one PING at most this often; a success moves to half-open before the 30 s are up. */
export const DEFAULT_PROBE_INTERVAL_MS = 500;

export interface CircuitBreakerOptions {
  readonly failureThreshold?: number;
  readonly openDurationMs?: number;
  readonly successThreshold?: number;
  readonly probeIntervalMs?: number;
  /** Background health probe run while open or half-open (the guard passes a PING). */
  readonly probe?: () => Promise<unknown>;
  readonly logger?: Logger;
  readonly name?: string;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/** What health checks and metrics read. */
export interface BreakerSnapshot {
  readonly state: BreakerState;
  readonly failureCount: number;
  readonly lastError: string | undefined;
  readonly retryAfterSeconds: number;
}

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  readonly failureCount: number;
  readonly reason: string | undefined;
}

/**
 * Opens after `failureThreshold` consecutive failures, stays open `openDurationMs` (failing calls at
 * once), then half-opens; `successThreshold` successes close it and one failure reopens it.
 * Emits 'transition' with a BreakerTransition.
 * @example
 * guard.breaker.on('transition', (t) => console.log(t.from, '→', t.to));
 * const { state, failureCount } = guard.breaker.snapshot();
 */
export class CircuitBreaker extends EventEmitter<{ transition: [BreakerTransition] }> {
  readonly failureThreshold: number;
  readonly openDurationMs: number;
  readonly successThreshold: number;
  readonly probeIntervalMs: number;
  #state: BreakerState = 'closed';
  #failures = 0;
  #successes = 0;
  #openedAt = 0;
  #lastError: string | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #probing = false;
  /** Bumped each time the breaker opens, so a probe that began before a reopening is not evidence. */
  #openings = 0;
  readonly #probe: (() => Promise<unknown>) | undefined;
  readonly #logger: Logger | undefined;
  readonly #name: string;
  readonly #now: () => number;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.failureThreshold = options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD;
    this.openDurationMs = options.openDurationMs ?? DEFAULT_OPEN_DURATION_MS;
    this.successThreshold = options.successThreshold ?? DEFAULT_SUCCESS_THRESHOLD;
    this.probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.#probe = options.probe;
    this.#logger = options.logger;
    this.#name = options.name ?? 'redis';
    this.#now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** True when a call may go ahead; an open breaker whose time is up half-opens here. */
  allowsRequests(): boolean {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.openDurationMs) {
      this.#transition('half-open', 'open duration elapsed');
    }
    return this.#state !== 'open';
  }

  /**
   * A call succeeded. While open this is ignored: a success that arrives then belongs to a call
   * admitted before the breaker opened, and says nothing about Redis now. Only the breaker's own
   * probe (or the open period running out) moves it on.
   */
  recordSuccess(): void {
    if (this.#state === 'closed') {
      this.#failures = 0;
      return;
    }
    if (this.#state === 'open') return;
    this.#countSuccess();
  }

  #countSuccess(): void {
    this.#successes += 1;
    if (this.#successes >= this.successThreshold) {
      this.#failures = 0;
      this.#lastError = undefined;
      this.#transition('closed', `${this.#successes} successes`);
    }
  }

  /** `message` must already be free of secrets. */
  recordFailure(message: string): void {
    this.#lastError = message;
    this.#failures += 1;
    if (this.#state === 'half-open') {
      this.#open(`failure while half-open: ${message}`);
    } else if (this.#state === 'closed' && this.#failures >= this.failureThreshold) {
      this.#open(message);
    }
  }

  /** Seconds until the breaker half-opens (at least 1), for Retry-After. */
  retryAfterSeconds(): number {
    if (this.#state !== 'open') return 1;
    return Math.max(1, Math.ceil((this.#openedAt + this.openDurationMs - this.#now()) / 1000));
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.#state,
      failureCount: this.#failures,
      lastError: this.#lastError,
      retryAfterSeconds: this.retryAfterSeconds(),
    };
  }

  /** Runs a probe now (e.g. when the client reports it reconnected), unless one is in flight. */
  probeNow(): void {
    if (!this.#probe || this.#probing || this.#state === 'closed') return;
    this.#probing = true;
    const openings = this.#openings;
    this.#probe().then(
      () => {
        this.#probing = false;
        if (openings !== this.#openings) return;
        if (this.#state === 'open') this.#transition('half-open', 'probe succeeded');
        if (this.#state === 'half-open') this.#countSuccess();
      },
      () => {
        this.#probing = false;
      },
    );
  }

  /** Stops the background probe; call on shutdown. */
  dispose(): void {
    this.#stopProbing();
  }

  #open(reason: string): void {
    this.#openings += 1;
    this.#openedAt = this.#now();
    this.#successes = 0;
    this.#transition('open', reason);
    if (this.#probe && !this.#probeTimer) {
      this.#probeTimer = setInterval(() => this.probeNow(), this.probeIntervalMs);
      this.#probeTimer.unref();
    }
  }

  #stopProbing(): void {
    if (this.#probeTimer) clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  #transition(to: BreakerState, reason: string | undefined): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (to === 'half-open') this.#successes = 0;
    if (to === 'closed') this.#stopProbing();
    const context = {
      event: 'circuit_breaker.transition',
      breaker: this.#name,
      from,
      to,
      failureCount: this.#failures,
      reason,
    };
    if (to === 'open' && from === 'closed') {
      this.#logger?.warn(context, `Circuit breaker opening after ${this.#failures} failures`);
    } else if (to === 'open') {
      this.#logger?.warn(context, 'Circuit breaker reopening');
    } else if (to === 'closed') {
      this.#logger?.info(context, 'Circuit breaker closing');
    } else {
      this.#logger?.info(context, 'Circuit breaker half-open');
    }
    this.emit('transition', { from, to, failureCount: this.#failures, reason });
  }
}
