import type { RedisAccess } from '@sec/redis-guard';
import { scriptCommands } from '@sec/redis-guard/internal';
import { KEY_PREFIX } from './keys.js';
import { REFUND_SCRIPT, RESERVE_SCRIPT } from './scripts.js';

/**
 * rate-limiter-flexible's RateLimiterRedis: its increment script (EVALSHA, then EVAL; it calls
 * SET, INCRBY, PTTL and EXPIRE), MULTI/EXEC with SET/GET/PTTL for blocks and reads, DEL to forget.
 */
const RATE_LIMITER_FLEXIBLE = [
  'evalsha',
  'eval',
  'multi',
  'exec',
  'set',
  'get',
  'incrby',
  'pttl',
  'expire',
  'del',
];

/**
 * What the rate limiters send to Redis, for a least-privilege ACL user (`aclRule()` in
 * @sec/redis-guard, or `npx sec-redis acl`): counters under `sec:rl:*`, kept by
 * rate-limiter-flexible and by this package's reserve/refund scripts.
 * @example
 * import { aclRule, redisAccess as guardAccess } from '@sec/redis-guard';
 * console.log(aclRule([guardAccess(), redisAccess()]));
 */
export function redisAccess(): RedisAccess {
  return {
    name: '@sec/rate-limit',
    commands: [...new Set([...RATE_LIMITER_FLEXIBLE, ...scriptCommands(RESERVE_SCRIPT, REFUND_SCRIPT)])],
    keyPrefixes: [`${KEY_PREFIX}:`],
    channels: [],
  };
}
