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
  DEFAULT_FAILURE_WINDOW_MS,
  DEFAULT_IP_BLOCK_DURATION_MS,
  DEFAULT_LOGIN_BLOCK_DURATION_MS,
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
  DEFAULT_BLOCK_DURATION_MS,
  DEFAULT_LIMITER_NAME,
  DEFAULT_POINTS,
  DEFAULT_WINDOW_MS,
  RATE_LIMIT_SERVICE,
  type RateLimiter,
  type RateLimitOptions,
  rateLimit,
} from './rate-limit.js';
export { type GuardUpgradeOptions, guardUpgrade } from './upgrade.js';
