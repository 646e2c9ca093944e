import { OptionError, type RedisAccess } from '@sec/redis-guard';
import { checkOptions, DEFAULT_KEY_PREFIX, keyPrefixOption, scriptCommands } from '@sec/redis-guard/internal';
import { eventChannel } from './events.js';
import { SCRIPTS } from './lua.js';
import { keyFamilies, STORE_COMMANDS } from './redis-store.js';

/**
 * What decides the keys and channel session managers use: the guard's key prefix and the
 * managers' `channel` option.
 * @example redisAccess({ keyPrefix: 'shop:', channel: false })
 */
export interface SessionAccessOptions {
  /** The guard's `keyPrefix` (`createRedisGuard({ keyPrefix })`); default 'sec:'. */
  readonly keyPrefix?: string;
  /** As in createSessionManager(); default `<keyPrefix>session:events`, false for none. */
  readonly channel?: string | false;
}

/**
 * What the session store sends to Redis, for a least-privilege ACL user (`aclRule()` in
 * @sec/redis-guard, or `npx sec-redis acl`): its scripts (EVALSHA, EVAL and every command they
 * call), MULTI/EXEC and HGET/HMGET for reads, PUBLISH and SUBSCRIBE on the event channel, WAIT for
 * revocations that must reach a replica, on the keys `<keyPrefix>sess:*` and `<keyPrefix>user:*`.
 * @example
 * import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
 * console.log(aclRule([guardAccess(), redisAccess({ keyPrefix: 'shop:' })]));
 */
export function redisAccess(options: SessionAccessOptions = {}): RedisAccess {
  checkOptions('redisAccess', options, { keyPrefix: keyPrefixOption, channel: ['string', 'boolean'] });
  if ((options.channel as unknown) === true || options.channel === '') {
    throw new OptionError(
      'channel',
      'redisAccess(): option "channel" must be a channel name, or false for none, as createSessionManager() takes it',
    );
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const channel = options.channel === false ? undefined : (options.channel ?? eventChannel(keyPrefix));
  return {
    name: '@sec/session',
    commands: [
      ...new Set([...STORE_COMMANDS, ...scriptCommands(...Object.values(SCRIPTS).map((s) => s.source))]),
    ],
    keyPrefixes: [...keyFamilies(keyPrefix)],
    channels: channel === undefined ? [] : [channel],
  };
}
