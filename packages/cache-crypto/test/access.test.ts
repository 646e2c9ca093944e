import { describe, expect, it } from '@jest/globals';
import { OptionError } from '@sec/redis-guard';
import { KEY_PREFIX } from '../src/cache.js';
import { redisAccess } from '../src/index.js';

describe('redisAccess: what encrypted caches send', () => {
  it('every namespace by default, or just the ones named', () => {
    expect(redisAccess().keyPrefixes).toEqual([KEY_PREFIX]);
    expect(redisAccess({ namespaces: ['profiles', 'reports'] }).keyPrefixes).toEqual([
      `${KEY_PREFIX}profiles:`,
      `${KEY_PREFIX}reports:`,
    ]);
    expect(redisAccess().commands).toEqual(
      expect.arrayContaining(['get', 'set', 'del', 'scan', 'evalsha', 'eval']),
    );
  });

  it('refuses a namespace createEncryptedCache() would refuse', () => {
    expect(() => redisAccess({ namespaces: ['a b'] })).toThrow(OptionError);
  });
});
