import { OptionError, type RedisAccess } from '@sec/redis-guard';
import { checkOptions, DEFAULT_KEY_PREFIX, keyPrefixOption, scriptCommands } from '@sec/redis-guard/internal';
import { cachePrefix, NAMESPACE_PATTERN } from './cache.js';
import { REPLACE_SCRIPT, STORE_COMMANDS } from './store.js';

/** @example redisAccess({ keyPrefix: 'shop:', namespaces: ['profiles', 'reports'] }) */
export interface CacheAccessOptions {
  /** The guard's `keyPrefix` (`createRedisGuard({ keyPrefix })`); default 'sec:'. */
  readonly keyPrefix?: string;
  /** The caches' `namespace`s; default every namespace (`<keyPrefix>cache:*`). */
  readonly namespaces?: readonly string[];
}

/**
 * What encrypted caches send to Redis, for a least-privilege ACL user (`aclRule()` in
 * @sec/redis-guard, or `npx sec-redis acl`): GET, SET and DEL on `<keyPrefix>cache:<namespace>:*`,
 * SCAN and a compare-and-set script (EVALSHA, EVAL, GET, SET) for `cache.rotate()`. SCAN lists key
 * names outside the user's key patterns too; a process that never rotates keys does not need it.
 * @example
 * import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
 * console.log(aclRule([guardAccess(), redisAccess({ namespaces: ['profiles'] })]));
 */
export function redisAccess(options: CacheAccessOptions = {}): RedisAccess {
  checkOptions('redisAccess', options, { keyPrefix: keyPrefixOption, namespaces: 'array' });
  for (const namespace of options.namespaces ?? []) {
    if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
      throw new OptionError(
        'namespaces',
        `redisAccess(): namespace ${JSON.stringify(namespace)} must be 1-64 letters, digits, "_", "." or "-"`,
      );
    }
  }
  const prefix = cachePrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  return {
    name: '@sec/cache-crypto',
    commands: [...new Set([...STORE_COMMANDS, ...scriptCommands(REPLACE_SCRIPT)])],
    keyPrefixes: options.namespaces?.length
      ? options.namespaces.map((namespace) => `${prefix}${namespace}:`)
      : [prefix],
    channels: [],
  };
}
