import { describe, expect, it } from '@jest/globals';
import { DEFAULT_EVENT_CHANNEL } from '../src/events.js';
import { redisAccess } from '../src/index.js';
import { DEFAULT_KEY_PREFIX } from '../src/options.js';

describe('redisAccess: what the session store sends', () => {
  it('its scripts’ commands, reads, the channel and WAIT, on its two key families', () => {
    const access = redisAccess();
    expect(access.keyPrefixes).toEqual([`${DEFAULT_KEY_PREFIX}sess:`, `${DEFAULT_KEY_PREFIX}user:`]);
    expect(access.channels).toEqual([DEFAULT_EVENT_CHANNEL]);
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

  it('follows keyPrefix and channel as createSessionManager() takes them', () => {
    expect(redisAccess({ keyPrefix: 'app1:', channel: false })).toMatchObject({
      keyPrefixes: ['app1:sess:', 'app1:user:'],
      channels: [],
    });
    expect(redisAccess({ channel: 'audit' }).channels).toEqual(['audit']);
    expect(() => redisAccess({ keyprefix: 'x' } as never)).toThrow(/did you mean "keyPrefix"/);
    expect(() => redisAccess({ keyPrefix: '{app}:' })).toThrow(/must not contain braces/);
  });
});
