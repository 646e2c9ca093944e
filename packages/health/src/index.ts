export type {
  CheckContext,
  CheckOutcome,
  HealthCheck,
  HealthReport,
  RequirementContext,
  ServiceReport,
  ServiceStatus,
  StartupContext,
} from './check.js';
export { HealthErrorCode, StartupHealthError } from './errors.js';
export { createHealth, type Health, type HealthOptions } from './health.js';
export {
  createMetrics,
  type Metrics,
  type MetricsOptions,
  type MetricsRegistry,
} from './metrics.js';
export {
  createOtelMetrics,
  type OtelMeterProvider,
  type OtelMetrics,
  type OtelMetricsOptions,
} from './otel-metrics.js';
export type { RedisPostureOptions } from './posture.js';
export { type RedisCheckOptions, redisCheck, redisRequired } from './redis-check.js';
export { assertStartupHealthy, type StartupOptions } from './startup.js';
