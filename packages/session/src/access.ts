import { OptionError, type RedisAccess } from '@sec/redis-guard';
import { checkOptions, scriptCommands } from '@sec/redis-guard/internal';
import { DEFAULT_EVENT_CHANNEL } from './events.js';
import { SCRIPTS } from './lua.js';
import { DEFAULT_KEY_PREFIX } from './options.js';
import { keyFamilies, STORE_COMMANDS } from './redis-store.js';

/**
 * The naming options of createSessionManager() that decide which keys and channel it uses.
 * @example redisAccess({ keyPrefix: 'app1:', channel: false })
 */
export interface SessionAccessOptions {
  /** As in createSessionManager(); default 'sec:'. */
  readonly keyPrefix?: string;
  /** As in createSessionManager(); default 'sec:session:events', false for none. */
  readonly channel?: string | false;
}

/**
 * What the session store sends to Redis, for a least-privilege ACL user (`aclRule()` in
 * @sec/redis-guard, or `npx sec-redis acl`): its scripts (EVALSHA, EVAL and every command they
 * call), MULTI/EXEC and HGET/HMGET for reads, PUBLISH and SUBSCRIBE on the event channel, WAIT for
 * revocations that must reach a replica, on the keys `<keyPrefix>sess:*` and `<keyPrefix>user:*`.
 * @example
 * import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
 * console.log(aclRule([guardAccess(), redisAccess({ keyPrefix: 'app1:' })]));
 */
export function redisAccess(options: SessionAccessOptions = {}): RedisAccess {
  checkOptions('redisAccess', options, { keyPrefix: 'string', channel: ['string', 'boolean'] });
  // As createSessionManager() refuses it: a brace would move the Cluster hash tag.
  if (options.keyPrefix !== undefined && /[{}\s]/.test(options.keyPrefix)) {
    throw new OptionError(
      'keyPrefix',
      'redisAccess(): option "keyPrefix" must not contain braces or whitespace',
    );
  }
  const channel = options.channel === false ? undefined : (options.channel ?? DEFAULT_EVENT_CHANNEL);
  return {
    name: '@sec/session',
    commands: [
      ...new Set([...STORE_COMMANDS, ...scriptCommands(...Object.values(SCRIPTS).map((s) => s.source))]),
    ],
    keyPrefixes: [...keyFamilies(options.keyPrefix ?? DEFAULT_KEY_PREFIX)],
    channels: channel === undefined ? [] : [channel],
  };
}
