export {
  type BreakerSnapshot,
  type BreakerState,
  type BreakerTransition,
  CircuitBreaker,
  type CircuitBreakerOptions,
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_OPEN_DURATION_MS,
  DEFAULT_PROBE_INTERVAL_MS,
  DEFAULT_SUCCESS_THRESHOLD,
} from './breaker.js';
export {
  type CreateRedisClientOptions,
  createRedisClient,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  type RedisClient,
  type SecureRedisClient,
} from './client.js';
export {
  configFromEnv,
  type HostPort,
  hasRedisTarget,
  type RedisConnectionConfig,
  readFlag,
  readPem,
  type TlsSettings,
  type TlsVersion,
} from './config.js';
export {
  detectEnvironment,
  type Environment,
  type EnvironmentInfo,
  isStrictEnvironment,
} from './environment.js';
export { type SecErrorHandlerOptions, secErrorHandler } from './error-handler.js';
export {
  ConfigurationError,
  isRedisUnavailable,
  OptionError,
  RedisGuardErrorCode,
  RedisUnavailableError,
  SecError,
  type SecErrorOptions,
} from './errors.js';
export {
  createRedisGuard,
  type GuardMode,
  isRedisGuard,
  type RedisGuard,
  type RedisGuardOptions,
  toGuard,
} from './guard.js';
export { DEFAULT_KEY_PREFIX } from './key-prefix.js';
export { createJsonLogger, type Logger, type LogLevel, maskingLogger } from './logger.js';
export { maskSecret, maskText, redactUrl, scrubError } from './mask.js';
export {
  type RequireRedisOptions,
  requireRedis,
  sendServiceUnavailable,
  unavailableBody,
} from './middleware.js';
export type { SecEvent, SecObserver } from './observer.js';
export {
  checkOptions,
  nonNegativeInteger,
  type OptionKind,
  type OptionRule,
  type OptionSchema,
  positiveInteger,
  suggest,
} from './options.js';
export {
  classifyRedisError,
  DEFAULT_RETRY_AFTER_SECONDS,
  isOutageError,
  type RedisErrorKind,
} from './outage.js';
export { type ParsedRedisUrl, parseRedisUrl } from './redis-url.js';
export {
  MIN_PASSWORD_LENGTH,
  type ResolvedRedisConfig,
  type ValidationResult,
  validateRedisConfig,
} from './validate.js';
