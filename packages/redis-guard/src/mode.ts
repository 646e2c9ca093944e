import { hasRedisTarget, type RedisConnectionConfig } from './config.js';
import { type Environment, isStrictEnvironment } from './environment.js';
import { RedisGuardErrorCode as Code, ConfigurationError } from './errors.js';
import type { Logger } from './logger.js';

export type GuardMode = 'redis' | 'memory';

/** The values of the `mode` option. */
export const GUARD_MODES = ['auto', 'redis', 'memory'] as const;

// One instance of this module per process (the require() entry loads the ES module build), so a
// module variable makes the warning once per process.
let memoryWarned = false;

/** Prints the memory-mode warning, once per process. */
export function warnMemoryMode(logger: Logger, environment: Environment): void {
  if (memoryWarned) return;
  memoryWarned = true;
  logger.warn(
    { event: 'redis.memory_mode', environment },
    '!!! IN-MEMORY MODE (development only): no Redis is configured. Sessions, revocations and rate-limit ' +
      'counters live in this process only: a session revoked on one worker stays valid on the others, and ' +
      'every worker counts limits separately. Set REDIS_URL to share them. Production refuses to start like this.',
  );
}

/**
 * Redis or memory: memory only when asked for outside production and staging, or when nothing is
 * configured in development and test.
 */
export function resolveMode(
  wanted: 'auto' | GuardMode,
  hasClient: boolean,
  environment: Environment,
  config: RedisConnectionConfig | undefined,
): GuardMode {
  if (wanted === 'memory' && isStrictEnvironment(environment)) {
    throw new ConfigurationError(
      Code.MemoryModeInProduction,
      `In-memory mode is refused in ${environment}: revocation and rate limits would not be shared between ` +
        'workers. Configure Redis with REDIS_URL and remove the memory option.',
      'REDIS_URL',
    );
  }
  if (wanted !== 'auto') return wanted;
  if (hasClient || (config && hasRedisTarget(config))) return 'redis';
  return isStrictEnvironment(environment) ? 'redis' : 'memory';
}
