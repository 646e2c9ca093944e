export { DEFAULT_IPV6_SUBNET, ipKey, UNKNOWN_CLIENT_KEY } from './client-ip.js';
export type { RateLimitDecision, RateLimitInfo } from './decision.js';
export { RateLimitErrorCode, RateLimitNameError } from './errors.js';
export {
  policyField,
  sendTooManyRequests,
  setRateLimitHeaders,
  stateField,
  tooManyRequestsBody,
} from './headers.js';
export {
  DEFAULT_FAILURE_WINDOW_SECONDS,
  DEFAULT_IP_BLOCK_SECONDS,
  DEFAULT_LOGIN_BLOCK_SECONDS,
  DEFAULT_LOGIN_LIMITER_NAME,
  DEFAULT_MAX_CONSECUTIVE_FAILS,
  DEFAULT_MAX_FAILS_BY_IP_PER_DAY,
  type LoginAttempt,
  type LoginLimiter,
  type LoginLimiterOptions,
  loginLimiter,
  type RefusedLoginAttempt,
} from './login.js';
export {
  DEFAULT_BLOCK_DURATION_SECONDS,
  DEFAULT_DURATION_SECONDS,
  DEFAULT_LIMITER_NAME,
  DEFAULT_POINTS,
  RATE_LIMIT_SERVICE,
  type RateLimiter,
  type RateLimitOptions,
  rateLimit,
} from './rate-limit.js';
export { type GuardUpgradeOptions, guardUpgrade } from './upgrade.js';
