import { createServer } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { createRedisGuard, OptionError } from '@sec/redis-guard';
import { captureLogger } from '@sec/testing';
import { guardUpgrade, loginLimiter, RateLimitNameError, rateLimit } from '../src/index.js';

const memoryGuard = () =>
  createRedisGuard({ environment: 'test', mode: 'memory', logger: captureLogger().logger });

describe('options are checked at creation', () => {
  it('suggests the right name for a typo', () => {
    expect(() => rateLimit({ redis: memoryGuard(), pionts: 5 } as never)).toThrow(
      /unknown option "pionts" — did you mean "points"\?/,
    );
    expect(() => rateLimit({ redis: memoryGuard(), keyby: () => 'x' } as never)).toThrow(
      /did you mean "keyBy"/,
    );
    expect(() => loginLimiter({ redis: memoryGuard(), maxFailsByIpPerdya: 5 } as never)).toThrow(
      /did you mean "maxFailsByIpPerDay"/,
    );
  });

  it('loginLimiter: the account canonicaliser must be a function', () => {
    const attempt = () => loginLimiter({ redis: memoryGuard(), account: 'lower-case' } as never);
    expect(attempt).toThrow(OptionError);
    expect(attempt).toThrow(/"account"/);
  });

  it.each([
    ['points', '10'],
    ['points', 0],
    ['points', 1.5],
    ['points', Number.NaN],
    ['windowMs', '60s'],
    ['windowMs', -1000],
    ['windowMs', 0],
    ['blockDurationMs', -5000],
    ['duration', 60],
    ['blockDuration', 60],
    ['cost', 0],
    ['cost', '2'],
    ['ipv6Subnet', 200],
    ['headers', 'yes'],
    ['skip', true],
  ])('rejects %s = %p with an OptionError naming it', (option, value) => {
    const attempt = () => rateLimit({ redis: memoryGuard(), [option]: value });
    expect(attempt).toThrow(OptionError);
    expect(attempt).toThrow(new RegExp(`"${option}"`));
  });

  it.each([
    ['windowMs', 500],
    ['windowMs', 1_500],
    ['blockDurationMs', 250],
    ['blockDurationMs', 60_500],
  ])('refuses %s = %p: limits are kept in whole seconds, never rounded', (option, value) => {
    const attempt = () => rateLimit({ redis: memoryGuard(), [option]: value });
    expect(attempt).toThrow(OptionError);
    expect(attempt).toThrow(new RegExp(`"${option}" must be .*a whole number of seconds in milliseconds`));
  });

  it.each([
    ['blockDurationMs', 500],
    ['ipBlockDurationMs', 1_500],
    ['failureWindowMs', 0],
    ['blockDuration', 900],
    ['failureWindow', 3_600],
  ])('loginLimiter refuses %s = %p', (option, value) => {
    const attempt = () => loginLimiter({ redis: memoryGuard(), [option]: value });
    expect(attempt).toThrow(OptionError);
    expect(attempt).toThrow(new RegExp(`"${option}"`));
  });

  it('suggests the millisecond option for unit-less names', () => {
    expect(() => rateLimit({ redis: memoryGuard(), blockDuration: 60 } as never)).toThrow(
      /did you mean "blockDurationMs"/,
    );
    expect(() => loginLimiter({ redis: memoryGuard(), ipBlockDuration: 60 } as never)).toThrow(
      /did you mean "ipBlockDurationMs"/,
    );
    expect(() => rateLimit({ redis: memoryGuard(), duration: 60 } as never)).toThrow(/windowMs/);
  });

  it('rejects a fixed cost above the quota', () => {
    expect(() => rateLimit({ redis: memoryGuard(), points: 5, cost: 6 })).toThrow(
      /"cost" \(6\) exceeds "points" \(5\)/,
    );
  });

  it('rejects connection settings passed as `redis`', () => {
    expect(() => rateLimit({ redis: { url: 'redis://x' } as never })).toThrow(
      /RedisGuard .* or an ioredis client/,
    );
  });

  it('rejects names that cannot appear in headers and keys', () => {
    expect(() => rateLimit({ redis: memoryGuard(), name: 'has "quotes"' })).toThrow(RateLimitNameError);
    expect(() => rateLimit({ redis: memoryGuard(), name: '' })).toThrow(/must be 1-64 characters/);
  });

  it('refuses two limiters with one name on one guard, allows it on different guards', () => {
    const guard = memoryGuard();
    rateLimit({ redis: guard, name: 'api' });
    let thrown: unknown;
    try {
      rateLimit({ redis: guard, name: 'api' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RateLimitNameError);
    expect(thrown).toMatchObject({ code: 'ERR_SEC_RATE_LIMIT_DUPLICATE_NAME' });
    expect(() => rateLimit({ redis: memoryGuard(), name: 'api' })).not.toThrow();
    expect(() => loginLimiter({ redis: guard, name: 'api' })).not.toThrow();
    expect(() => loginLimiter({ redis: guard, name: 'api' })).toThrow(RateLimitNameError);
  });

  it('checks guardUpgrade options', () => {
    const limiter = rateLimit({ redis: memoryGuard() });
    expect(() => guardUpgrade(createServer(), limiter, { keyby: () => 'x' } as never)).toThrow(
      /did you mean "keyBy"/,
    );
  });

  it.each([
    ['an empty list', [], /"windows" must hold 1 to 8 windows/],
    [
      'a repeated window length',
      [
        { points: 1, windowMs: 1_000 },
        { points: 2, windowMs: 1_000 },
      ],
      /must not repeat a window length/,
    ],
    ['a window without points', [{ windowMs: 1_000 }], /windows\[0\]\(\): option "points" is required/],
    [
      'a window of 1.5 s',
      [{ points: 1, windowMs: 1_500 }],
      /windows\[0\]\(\): option "windowMs" must be .*whole number of seconds/,
    ],
    ['a typo in a window', [{ points: 1, windowMs: 1_000, pionts: 2 }], /did you mean "points"/],
    ['not a list', { points: 1, windowMs: 1_000 }, /"windows" must be array/],
  ])('rejects windows with %s', (_what, windows, message) => {
    const attempt = () => rateLimit({ redis: memoryGuard(), windows: windows as never });
    expect(attempt).toThrow(OptionError);
    expect(attempt).toThrow(message);
  });

  it('refuses points or windowMs next to windows, and a fixed cost above the smallest window', () => {
    const windows = [
      { points: 3, windowMs: 1_000 },
      { points: 100, windowMs: 60_000 },
    ];
    expect(() => rateLimit({ redis: memoryGuard(), windows, points: 5 })).toThrow(
      /"points" cannot be combined with "windows"/,
    );
    expect(() => rateLimit({ redis: memoryGuard(), windows, windowMs: 1_000 })).toThrow(
      /"windowMs" cannot be combined with "windows"/,
    );
    expect(() => rateLimit({ redis: memoryGuard(), windows, cost: 4 })).toThrow(
      /"cost" \(4\) exceeds "points" \(3\)/,
    );
  });

  it.each([-1, 1.5, '10'])('rejects floodShieldKeys = %p', (value) => {
    expect(() => rateLimit({ redis: memoryGuard(), floodShieldKeys: value as never })).toThrow(
      /"floodShieldKeys"/,
    );
  });
});
