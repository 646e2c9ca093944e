import { describe, expect, it } from '@jest/globals';
import { aclRule, OptionError, type RedisAccess, redisAccess } from '../src/index.js';
import { scriptCommands } from '../src/internal.js';

const access = (overrides: Partial<RedisAccess>): RedisAccess => ({
  name: 'pkg',
  commands: [],
  keyPrefixes: [],
  channels: [],
  ...overrides,
});

describe('aclRule', () => {
  it('denies everything first, then grants each command, key prefix and channel once, sorted', () => {
    const rule = aclRule([
      access({ commands: ['get', 'set'], keyPrefixes: ['b:'], channels: ['events'] }),
      access({ commands: ['set', 'acl|whoami'], keyPrefixes: ['a:', 'b:'] }),
    ]);
    expect(rule).toBe('resetkeys resetchannels -@all +acl|whoami +get +set ~a:* ~b:* &events');
  });

  it('escapes glob characters, so a prefix grants exactly the keys that start with it', () => {
    expect(aclRule([access({ keyPrefixes: ['we*ird?[x]\\'], channels: ['ch*'] })])).toBe(
      'resetkeys resetchannels -@all ~we\\*ird\\?\\[x\\]\\\\* &ch\\*',
    );
  });

  it('refuses what would break the ACL line or grant more than meant', () => {
    expect(() => aclRule([access({ keyPrefixes: ['a b:'] })])).toThrow(OptionError);
    expect(() => aclRule([access({ keyPrefixes: [''] })])).toThrow(/non-empty string/);
    expect(() => aclRule([access({ channels: ['"x"'] })])).toThrow(OptionError);
    expect(() => aclRule([access({ commands: ['GET'] })])).toThrow(/lower-case ACL names/);
    expect(() => aclRule([access({ commands: ['+@all'] })])).toThrow(OptionError);
    expect(() => aclRule([access({ commands: ['get ~*'] })])).toThrow(OptionError);
  });
});

describe("redis-guard's own access", () => {
  it('PING, INFO, the check round trip and the audit; Cluster and SELECT on demand', () => {
    expect(redisAccess()).toEqual({
      name: '@sec/redis-guard',
      commands: ['ping', 'info', 'set', 'get', 'del', 'acl|whoami', 'acl|dryrun'],
      keyPrefixes: ['sec-redis:check:'],
      channels: [],
    });
    expect(redisAccess({ audit: false }).commands).not.toContain('acl|dryrun');
    expect(redisAccess({ cluster: true, select: true }).commands).toEqual(
      expect.arrayContaining(['cluster|slots', 'asking', 'select']),
    );
    expect(() => redisAccess({ audti: false } as never)).toThrow(/did you mean "audit"/);
  });

  it('with auditTrail: the append script, the stream reads and the trail keys under the key prefix', () => {
    const access = redisAccess({ auditTrail: true, keyPrefix: 'sec:shop:' });
    expect(access.commands).toEqual(
      expect.arrayContaining([
        'evalsha',
        'eval',
        'xadd',
        'time',
        'get',
        'set',
        'xread',
        'xrange',
        'xrevrange',
        'client|setname',
      ]),
    );
    expect(new Set(access.commands).size).toBe(access.commands.length);
    expect(access.keyPrefixes).toEqual(['sec-redis:check:', 'sec:shop:{audit}:']);
    expect(aclRule([access])).toContain('~sec:shop:{audit}:*');
    expect(redisAccess({ auditTrail: true }).keyPrefixes).toContain('sec:{audit}:');
    expect(() => redisAccess({ auditTrail: true, keyPrefix: 'a b' })).toThrow(/keyPrefix/);
  });
});

describe('scriptCommands', () => {
  it('reads the commands a Lua script calls, whatever the quotes and case', () => {
    expect(
      scriptCommands(
        'redis.call(\'HSET\', KEYS[1]) local x = redis.pcall("get", KEYS[2])',
        "redis.call( 'PEXPIRE', k) redis.call('hset', k)",
      ),
    ).toEqual(['get', 'hset', 'pexpire']);
  });
});
