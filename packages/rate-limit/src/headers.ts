import type { Response } from 'express';
import type { RateLimitInfo } from './decision.js';

/**
 * `RateLimit-Policy` member for a limiter, per draft-ietf-httpapi-ratelimit-headers (-10):
 * a structured-field string naming the policy, `q` the quota and `w` the window in seconds.
 */
export function policyField(info: RateLimitInfo): string {
  return `"${info.limiter}";q=${info.limit};w=${info.windowSeconds}`;
}

/**
 * `RateLimit` member: `r` the remaining quota, `t` the seconds until it resets.
 */
export function stateField(info: RateLimitInfo): string {
  return `"${info.limiter}";r=${info.remaining};t=${info.resetSeconds}`;
}

function appendMember(res: Response, field: string, member: string): void {
  const current = res.getHeader(field);
  // Several named limiters on one route each add their member to the same structured-field list.
  res.setHeader(field, current === undefined ? member : `${String(current)}, ${member}`);
}

/**
 * Adds a limiter's members to the response headers: every policy (window) to `RateLimit-Policy`,
 * and to `RateLimit` the state of `info`, the policy with the least remaining (`decision.info`):
 * the one closest to refusing the client.
 * @example
 * const decision = await limiter.consume(req);
 * if (decision.outcome === 'allowed') setRateLimitHeaders(res, decision.info, decision.policies);
 */
export function setRateLimitHeaders(
  res: Response,
  info: RateLimitInfo,
  policies: readonly RateLimitInfo[] = [info],
): void {
  appendMember(res, 'RateLimit-Policy', policies.map(policyField).join(', '));
  appendMember(res, 'RateLimit', stateField(info));
}

/**
 * The JSON body of a 429; the same shape as redis-guard's 503 body.
 */
export function tooManyRequestsBody(limiter: string, retryAfterSeconds: number): object {
  return {
    error: 'too_many_requests',
    limiter,
    message: `Too many requests; retry after ${retryAfterSeconds} s`,
    retry_after: retryAfterSeconds,
  };
}

/**
 * Answers 429 with `Retry-After` and the JSON body.
 * @example sendTooManyRequests(res, 'login', 900);
 */
export function sendTooManyRequests(res: Response, limiter: string, retryAfterSeconds: number): void {
  res
    .status(429)
    .set('Retry-After', String(retryAfterSeconds))
    .set('Cache-Control', 'no-store')
    .json(tooManyRequestsBody(limiter, retryAfterSeconds));
}
