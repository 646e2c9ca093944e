import { describe, expect, it } from '@jest/globals';
import { redisAccess } from '../src/index.js';
import { KEY_PREFIX } from '../src/keys.js';

describe('redisAccess: what the rate limiters send', () => {
  it('rate-limiter-flexible’s commands and the reserve/refund scripts’, on the counters’ prefix', () => {
    const access = redisAccess();
    expect(access.keyPrefixes).toEqual([`${KEY_PREFIX}:`]);
    expect(access.channels).toEqual([]);
    expect(access.commands).toEqual(
      expect.arrayContaining([
        'evalsha',
        'eval',
        'multi',
        'exec',
        'incrby',
        'incr',
        'decr',
        'pexpire',
        'pttl',
        'del',
      ]),
    );
  });
});
