import { describe, expect, it } from '@jest/globals';
import { redisAccess } from '../src/index.js';

describe('redisAccess: what the session store sends', () => {
  it('its scripts’ commands, reads, the channel and WAIT, on its two key families', () => {
    const access = redisAccess();
    expect(access.keyPrefixes).toEqual(['sec:sess:', 'sec:user:']);
    expect(access.channels).toEqual(['sec:session:events']);
    expect(access.commands).toEqual(
      expect.arrayContaining([
        'evalsha',
        'eval',
        'hset',
        'hdel',
        'hgetall',
        'unlink',
        'publish',
        'subscribe',
        'wait',
      ]),
    );
    expect(new Set(access.commands).size).toBe(access.commands.length);
  });

  it('follows the guard’s key prefix, and the channel as createSessionManager() takes it', () => {
    expect(redisAccess({ keyPrefix: 'app1:' })).toMatchObject({
      keyPrefixes: ['app1:sess:', 'app1:user:'],
      channels: ['app1:session:events'],
    });
    expect(redisAccess({ keyPrefix: 'app1:', channel: false }).channels).toEqual([]);
    expect(redisAccess({ channel: 'audit' }).channels).toEqual(['audit']);
    expect(() => redisAccess({ keyprefix: 'x' } as never)).toThrow(/did you mean "keyPrefix"/);
    expect(() => redisAccess({ keyPrefix: '{app}:' })).toThrow(/no braces/);
    expect(() => redisAccess({ channel: '' })).toThrow(/channel name, or false/);
  });
});
