import { LRUCache } from 'lru-cache';
import type { WindowCount, WindowState } from './window-store.js';
import type { CounterWindow } from './windows.js';

/** Over-limit keys a limiter remembers per process when `floodShieldKeys` is not given. */
export const DEFAULT_FLOOD_SHIELD_KEYS = 10_000;

/**
 * The keys Redis has said are over their limit, each with the moment (this process's monotonic
 * clock) before which every request for it will be refused anyway: until then the limiter refuses
 * the key here, without a Redis command. Bounded: at most `maxKeys` entries, the least recently
 * refused dropped first (a dropped key only goes back to asking Redis). About 200 bytes per entry.
 *
 * Exactness. A key is remembered only when one of its windows is full (no request of any cost fits
 * until that window resets), and only until the latest reset among its full windows, counted from
 * the moment the request was *sent*: the script ran later, so the real reset is never earlier.
 * A key under its limit is never refused here, and Redis stays the judge of every other request.
 */
export class FloodShield {
  readonly #refused: LRUCache<string, { until: number; sentAt: number; count: WindowCount }>;

  constructor(maxKeys: number) {
    this.#refused = new LRUCache({ max: maxKeys });
  }

  /**
   * While the key is known to be refused: Redis's last answer for it, its times moved on to now
   * (for the headers and Retry-After). Undefined when Redis must be asked.
   */
  refusing(key: string, now = performance.now()): WindowCount | undefined {
    const entry = this.#refused.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#refused.delete(key);
      return undefined;
    }
    const elapsed = now - entry.sentAt;
    const windows = entry.count.windows.map(
      (state): WindowState => ({ used: state.used, msBeforeNext: Math.max(0, state.msBeforeNext - elapsed) }),
    );
    return { allowed: false, windows };
  }

  /**
   * Remembers a key whose request (sent at `sentAt`) Redis refused with a window full. A count made
   * in this process's memory during an outage says nothing about Redis: it is not remembered.
   */
  record(key: string, windows: readonly CounterWindow[], count: WindowCount, sentAt: number): void {
    if (count.allowed || count.local) return;
    let longest = 0;
    count.windows.forEach((state, i) => {
      if (state.used >= windows[i]!.points) longest = Math.max(longest, state.msBeforeNext);
    });
    if (longest > 0) this.#refused.set(key, { until: sentAt + longest, sentAt, count });
  }

  forget(key: string): void {
    this.#refused.delete(key);
  }
}
