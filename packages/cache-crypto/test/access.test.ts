import { describe, expect, it } from '@jest/globals';
import { OptionError } from '@sec/redis-guard';
import { redisAccess } from '../src/index.js';

describe('redisAccess: what encrypted caches send', () => {
  it('every namespace by default, or just the ones named', () => {
    expect(redisAccess().keyPrefixes).toEqual(['sec:cache:']);
    expect(redisAccess({ namespaces: ['profiles', 'reports'] }).keyPrefixes).toEqual([
      'sec:cache:profiles:',
      'sec:cache:reports:',
    ]);
    expect(redisAccess({ keyPrefix: 'shop:', namespaces: ['profiles'] }).keyPrefixes).toEqual([
      'shop:cache:profiles:',
    ]);
    expect(redisAccess().commands).toEqual(
      expect.arrayContaining(['get', 'set', 'del', 'scan', 'evalsha', 'eval']),
    );
  });

  it('refuses a namespace createEncryptedCache() would refuse', () => {
    expect(() => redisAccess({ namespaces: ['a b'] })).toThrow(OptionError);
    expect(() => redisAccess({ keyPrefix: 'a*' })).toThrow(OptionError);
  });
});
