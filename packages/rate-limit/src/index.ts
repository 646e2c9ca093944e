export { type RateLimitAccessOptions, redisAccess } from './access.js';
export { ipKey } from './client-ip.js';
export type { RateLimitDecision, RateLimitInfo } from './decision.js';
export { RateLimitErrorCode, RateLimitNameError } from './errors.js';
export { sendTooManyRequests, setRateLimitHeaders } from './headers.js';
export {
  type LoginAttempt,
  type LoginLimiter,
  type LoginLimiterOptions,
  loginLimiter,
  type RefusedLoginAttempt,
} from './login.js';
export { type RateLimiter, type RateLimitOptions, rateLimit } from './rate-limit.js';
export { type GuardUpgradeOptions, guardUpgrade } from './upgrade.js';
export type { RateLimitWindow } from './windows.js';
