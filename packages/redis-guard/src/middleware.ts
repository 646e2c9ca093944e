import type { RequestHandler, Response } from 'express';
import type { RedisGuard } from './guard.js';
import { checkOptions } from './options.js';

export interface RequireRedisOptions {
  /** Named in the 503 body; default: the guard's name. */
  readonly service?: string;
}

/**
 * The JSON body of every @sec 503, for responses written by hand (e.g. on a raw upgrade socket).
 */
export function unavailableBody(service: string, retryAfterSeconds: number) {
  return {
    error: 'service_unavailable',
    service,
    message: `${service} is temporarily unavailable; retry after ${retryAfterSeconds} s`,
    retry_after: retryAfterSeconds,
  } as const;
}

/**
 * The 503 every @sec package sends when Redis cannot answer: `Retry-After` plus a JSON body that
 * names the service. Exported so all packages answer alike.
 * @example
 * app.get('/search', (_req, res, next) => {
 *   if (!guard.isAvailable()) return sendServiceUnavailable(res, guard, 'search');
 *   next();
 * });
 */
export function sendServiceUnavailable(res: Response, guard: RedisGuard, service: string = guard.name): void {
  const retryAfter = guard.retryAfterSeconds();
  guard.report({ type: 'unavailable.response', service });
  res
    .status(503)
    .set('Retry-After', String(retryAfter))
    .set('Cache-Control', 'no-store')
    .json(unavailableBody(service, retryAfter));
}

/**
 * Fails closed while a configured Redis is down, in every environment: answers 503 + Retry-After
 * at once (no Redis call is made). Only a guard created with `failClosed: false` lets the request
 * through, with one warning. A memory-mode guard (nothing configured) always lets it through.
 * @example app.use('/api', requireRedis(guard));
 */
export function requireRedis(guard: RedisGuard, options: RequireRedisOptions = {}): RequestHandler {
  checkOptions('requireRedis', options, { service: 'string' });
  const service = options.service ?? guard.name;
  return (_req, res, next) => {
    if (guard.isAvailable()) return next();
    if (!guard.failClosed) {
      guard.warnOnce(
        'redis.unavailable.pass_through',
        'Redis is unavailable; letting requests through because the guard was created with failClosed: false. ' +
          'With the default, requests answer 503 here.',
      );
      return next();
    }
    sendServiceUnavailable(res, guard, service);
  };
}
