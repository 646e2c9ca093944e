export { aclRule, type RedisAccess, redisAccess } from './acl.js';
export type { BreakerState, CircuitBreaker } from './breaker.js';
export {
  type CreateRedisClientOptions,
  createRedisClient,
  type RedisClient,
} from './client.js';
export { configFromEnv, type RedisConnectionConfig, type TlsSettings } from './config.js';
export { detectEnvironment, type Environment, isStrictEnvironment } from './environment.js';
export { type SecErrorHandlerOptions, secErrorHandler } from './error-handler.js';
export {
  ConfigurationError,
  OptionError,
  RedisGuardErrorCode,
  RedisUnavailableError,
  SecError,
  type SecErrorCode,
  type SecErrorCodes,
} from './errors.js';
export { createRedisGuard, type RedisGuard, type RedisGuardOptions } from './guard.js';
export { createJsonLogger, type Logger } from './logger.js';
export { type RequireRedisOptions, requireRedis, sendServiceUnavailable } from './middleware.js';
export type { SecEvent, SecEvents, SecObserver } from './observer.js';
export { classifyRedisError, type RedisErrorKind } from './outage.js';
export { type AssertPostureOptions, assertRedisPosture } from './posture/assert.js';
export { auditRedisPosture } from './posture/audit.js';
export type {
  PostureOptions,
  PostureReport,
  PostureResult,
  PostureRule,
  PostureStatus,
} from './posture/types.js';
export { validateRedisConfig } from './validate.js';
