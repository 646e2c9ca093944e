import {
  type Environment,
  isStrictEnvironment,
  OptionError,
  type RedisClient,
  type RedisGuard,
} from '@sec/redis-guard';
import { checkOptions, positiveInteger, toGuard } from '@sec/redis-guard/internal';
import type { CheckContext, CheckOutcome, HealthCheck, RequirementContext } from './check.js';
import { checkPostureOption, PostureMonitor, type RedisPostureOptions } from './posture.js';

/** @example redisCheck(guard, { name: 'sessions-redis', timeoutMs: 500 }) */
export interface RedisCheckOptions {
  /**
   * Default: required in production and staging, and anywhere when `REQUIRE_REDIS_SESSIONS=true`
   * (or `createHealth({ requireRedis: true })`); optional in development and test.
   */
  readonly required?: boolean;
  /** Default: the guard's name ('redis'). */
  readonly name?: string;
  readonly timeoutMs?: number;
  /**
   * Audit the Redis server's own settings (eviction policy, persistence, the ACL user's commands,
   * replication, TLS, protected mode; see @sec/redis-guard's `auditRedisPosture`): enforced by
   * `assertStartupHealthy()` (production refuses an eviction policy other than noeviction) and
   * shown in `/detailed`. Default true; `false` turns it off.
   */
  readonly posture?: boolean | RedisPostureOptions;
}

/** Operators alert on this exact wording; keep it stable. */
const HEALTHY_MESSAGE = 'Redis connection successful';

function critical(environment: Environment): string {
  return (
    `CRITICAL: Redis is MANDATORY in ${environment} for multi-worker ` +
    'session management. Session revocation WILL NOT WORK without Redis. Application startup BLOCKED.'
  );
}

/** Memory mode: nothing is configured, so the packages really do run in memory. */
const MEMORY_WARNING =
  'WARNING: Running with in-memory fallback (DEVELOPMENT ONLY). Session revocation does NOT work across ' +
  'multiple workers/servers. DO NOT use in production.';

/**
 * A configured Redis that is down is never replaced by memory: say what the packages do instead,
 * which depends only on the guard's failClosed.
 */
function whileDown(guard: RedisGuard): string {
  if (guard.failClosed) {
    return (
      'WARNING: Redis is configured, so nothing falls back to memory: requests that need Redis (sessions, ' +
      'rate limits, requireRedis) answer 503 with Retry-After until it is back.'
    );
  }
  return (
    'WARNING: Redis is configured but this guard has failClosed: false: requireRedis lets requests through and ' +
    'rate limits count in each process until it is back; sessions answer 503 (they cannot be verified without Redis).'
  );
}

/**
 * Redis is required where the guard fails closed, or wherever the operator demands it. The default
 * `required` of `redisCheck()`; reuse it for other checks that guard session state.
 * @example
 * const queue: HealthCheck = {
 *   name: 'queue',
 *   required: redisRequired,
 *   check: async () => ({ healthy: (await guard.execute((redis) => redis.llen('jobs'))) < 10_000 }),
 * };
 */
export function redisRequired(context: RequirementContext): boolean {
  return context.requireRedis || isStrictEnvironment(context.environment);
}

/**
 * The built-in Redis check: a PING through the guard (so an open circuit answers at once instead
 * of waiting), plus the breaker's state and failure count and whether the guard is in memory mode.
 * Pass the guard your other @sec packages use, so the check sees the same breaker; a bare ioredis
 * client is wrapped in a guard of its own.
 * @example
 * const guard = createRedisGuard();
 * const health = createHealth({ checks: [redisCheck(guard)] });
 */
export function redisCheck(redis: RedisGuard | RedisClient, options: RedisCheckOptions = {}): HealthCheck {
  if (redis === undefined || redis === null || typeof redis !== 'object') {
    throw new OptionError('redis', 'redisCheck(): pass the RedisGuard (or ioredis client) to check');
  }
  checkOptions('redisCheck', options, {
    required: 'boolean',
    name: 'string',
    timeoutMs: positiveInteger,
    posture: ['boolean', 'object'],
  });
  checkPostureOption(options.posture);
  const guard = toGuard(redis);
  const posture =
    options.posture === false || guard.isMock
      ? undefined
      : new PostureMonitor(
          guard,
          options.posture === true || options.posture === undefined ? {} : options.posture,
        );
  const details = () => {
    const snapshot = guard.breaker.snapshot();
    return {
      circuit_state: snapshot.state,
      failure_count: snapshot.failureCount,
      is_mock: guard.isMock,
      ...(posture && { posture: posture.details() }),
    };
  };
  return {
    name: options.name ?? guard.name,
    required: options.required ?? redisRequired,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    componentType: 'datastore',
    guard,
    async check({ required, environment }: CheckContext): Promise<CheckOutcome> {
      if (guard.isMock) {
        return {
          healthy: false,
          message: `Redis is not configured (in-memory mode). ${required ? critical(environment) : MEMORY_WARNING}`,
          details: details(),
        };
      }
      try {
        await guard.ping();
        posture?.refresh(environment);
        return { healthy: true, message: HEALTHY_MESSAGE, details: details() };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return {
          healthy: false,
          message: `Redis connection failed: ${reason}. ${required ? critical(environment) : whileDown(guard)}`,
          details: details(),
        };
      }
    },
    ...(posture && { startup: (context) => posture.gate(context) }),
  };
}
