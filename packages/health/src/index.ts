export { HEALTH_JSON_TYPE } from './bodies.js';
export {
  type CheckContext,
  type CheckOutcome,
  DEFAULT_CHECK_TIMEOUT_MS,
  type HealthCheck,
  type HealthReport,
  type RequirementContext,
  type ServiceReport,
  type ServiceStatus,
  type StartupContext,
} from './check.js';
export { HealthErrorCode, StartupHealthError } from './errors.js';
export { createHealth, DEFAULT_CACHE_MS, type Health, type HealthOptions } from './health.js';
export {
  createMetrics,
  DEFAULT_METRICS_PREFIX,
  HEALTH_CHECK_BUCKETS,
  type Metrics,
  type MetricsOptions,
  type MetricsRegistry,
} from './metrics.js';
export { DEFAULT_POSTURE_REFRESH_MS, type RedisPostureOptions } from './posture.js';
export { type RedisCheckOptions, redisCheck, redisRequired } from './redis-check.js';
export { REQUIRE_REDIS_VARIABLE, requireRedisFromEnv } from './require-redis.js';
export {
  assertStartupHealthy,
  DEFAULT_STARTUP_RETRY_MS,
  DEFAULT_STARTUP_WAIT_MS,
  type StartupOptions,
} from './startup.js';
