import { describe, expect, it } from '@jest/globals';
import { OptionError } from '@sec/redis-guard';
import { redisAccess } from '../src/index.js';

describe('redisAccess: what the rate limiters send', () => {
  it('the consume, reserve and refund scripts’ commands and nothing for blocks outside them, on the counters’ prefix', () => {
    const access = redisAccess();
    expect(access.keyPrefixes).toEqual(['sec:rl:']);
    expect(access.channels).toEqual([]);
    expect(access.commands).toEqual(
      expect.arrayContaining(['evalsha', 'eval', 'incrby', 'incr', 'decr', 'pexpire', 'pttl', 'del']),
    );
    // Every decision is one script: no transaction, no KEYS/SCAN.
    expect(access.commands.filter((c) => ['multi', 'exec', 'keys', 'scan'].includes(c))).toEqual([]);
  });

  it('follows the guard’s key prefix, and refuses one the guard would refuse', () => {
    expect(redisAccess({ keyPrefix: 'shop:' }).keyPrefixes).toEqual(['shop:rl:']);
    expect(() => redisAccess({ keyPrefix: '{shop}:' })).toThrow(OptionError);
    expect(() => redisAccess({ keyprefix: 'x' } as never)).toThrow(/did you mean "keyPrefix"/);
  });
});
