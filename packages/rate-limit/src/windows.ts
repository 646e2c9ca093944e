import { checkOptions, type OptionRule, positiveInteger } from '@sec/redis-guard/internal';
import { wholeSeconds } from './option-rules.js';

/**
 * One window of a limiter: `points` per `windowMs` (a whole number of seconds, in ms).
 * @example const perSecond: RateLimitWindow = { points: 10, windowMs: 1_000 };
 */
export type RateLimitWindow = Readonly<{
  /** Requests (points) allowed per window. */
  points: number;
  /** Window length in ms, a multiple of 1000 (at least 1000). */
  windowMs: number;
}>;

/** A window as the limiter counts it: its policy name in headers and its Redis key suffix. */
export interface CounterWindow {
  readonly points: number;
  readonly windowMs: number;
  /** The policy's name in `RateLimit-Policy` / `RateLimit`: the limiter's name, plus the window when there are several. */
  readonly policy: string;
  /** Appended to the client's counter key: '' for a single window (the key a one-window limiter always had). */
  readonly keySuffix: string;
}

/** At most this many windows per limiter: every window is a key the script reads and writes per request. */
export const MAX_WINDOWS = 8;

/** `windows`: a non-empty array of `{ points, windowMs }`, distinct window lengths. */
export const windowsOption: OptionRule = {
  kind: 'array',
  check: (value) => {
    const windows = value as readonly unknown[];
    if (windows.length === 0 || windows.length > MAX_WINDOWS) {
      return `must hold 1 to ${MAX_WINDOWS} windows`;
    }
    windows.forEach((window, index) => {
      checkOptions(`rateLimit(): windows[${index}]`, window, {
        points: { ...positiveInteger, required: true },
        windowMs: { ...wholeSeconds(1000), required: true },
      });
    });
    const lengths = new Set(windows.map((window) => (window as RateLimitWindow).windowMs));
    return lengths.size === windows.length ? undefined : 'must not repeat a window length';
  },
};

/**
 * The windows a limiter counts, shortest first. Several windows get policy names `<name>.<seconds>s`
 * (`"api.1s"`, `"api.3600s"`) so each is its own member of the headers' lists.
 */
export function counterWindows(name: string, windows: readonly RateLimitWindow[]): CounterWindow[] {
  const sorted = [...windows].sort((a, b) => a.windowMs - b.windowMs);
  if (sorted.length === 1) return [{ ...sorted[0]!, policy: name, keySuffix: '' }];
  return sorted.map((window) => ({
    points: window.points,
    windowMs: window.windowMs,
    policy: `${name}.${window.windowMs / 1000}s`,
    keySuffix: `:w${window.windowMs / 1000}`,
  }));
}
