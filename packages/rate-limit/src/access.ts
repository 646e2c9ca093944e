import type { RedisAccess } from '@sec/redis-guard';
import { checkOptions, DEFAULT_KEY_PREFIX, keyPrefixOption, scriptCommands } from '@sec/redis-guard/internal';
import { rateLimitPrefix } from './key-names.js';
import { CONSUME_SCRIPT, REFUND_SCRIPT, RESERVE_SCRIPT } from './scripts.js';

/**
 * Beside the scripts' own commands: EVALSHA, then EVAL when the server has not cached a script yet,
 * and DEL, with which rate-limiter-flexible forgets a login limiter's counter.
 */
const CALLS = ['evalsha', 'eval', 'del'];

/** @example redisAccess({ keyPrefix: 'shop:' }) */
export interface RateLimitAccessOptions {
  /** The guard's `keyPrefix` (`createRedisGuard({ keyPrefix })`); default 'sec:'. */
  readonly keyPrefix?: string;
}

/**
 * What the rate limiters send to Redis, for a least-privilege ACL user (`aclRule()` in
 * @sec/redis-guard, or `npx sec-redis acl`): counters under `<keyPrefix>rl:*`, kept by
 * this package's consume, reserve and refund scripts.
 * @example
 * import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
 * console.log(aclRule([guardAccess(), redisAccess()]));
 */
export function redisAccess(options: RateLimitAccessOptions = {}): RedisAccess {
  checkOptions('redisAccess', options, { keyPrefix: keyPrefixOption });
  return {
    name: '@sec/rate-limit',
    commands: [...new Set([...CALLS, ...scriptCommands(CONSUME_SCRIPT, RESERVE_SCRIPT, REFUND_SCRIPT)])],
    keyPrefixes: [rateLimitPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX)],
    channels: [],
  };
}
