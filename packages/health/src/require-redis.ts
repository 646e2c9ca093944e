import { readFlag } from '@sec/redis-guard/internal';

/**
 * The variable operators set to make Redis mandatory outside production too.
 */
export const REQUIRE_REDIS_VARIABLE = 'REQUIRE_REDIS_SESSIONS';

/**
 * Reads REQUIRE_REDIS_SESSIONS: true/1/yes or false/0/no; unset → undefined. Anything else is a
 * start-up error, because silently reading a typo as "false" would relax a security control.
 */
export function requireRedisFromEnv(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  return readFlag(env, REQUIRE_REDIS_VARIABLE);
}
