import { ConfigurationError, RedisGuardErrorCode } from '@sec/redis-guard';

/**
 * The variable operators set to make Redis mandatory outside production too.
 * @example process.env[REQUIRE_REDIS_VARIABLE] = 'true';
 */
export const REQUIRE_REDIS_VARIABLE = 'REQUIRE_REDIS_SESSIONS';

/**
 * Reads REQUIRE_REDIS_SESSIONS: true/1/yes or false/0/no; unset → undefined. Anything else is a
 * start-up error, because silently reading a typo as "false" would relax a security control.
 * @example requireRedisFromEnv({ REQUIRE_REDIS_SESSIONS: 'true' }) // true
 */
export function requireRedisFromEnv(env: NodeJS.ProcessEnv = process.env): boolean | undefined {
  const raw = env[REQUIRE_REDIS_VARIABLE]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigurationError(
    RedisGuardErrorCode.InvalidFlag,
    `${REQUIRE_REDIS_VARIABLE}="${env[REQUIRE_REDIS_VARIABLE]}" is not a boolean. Set it to true or false.`,
    REQUIRE_REDIS_VARIABLE,
  );
}
