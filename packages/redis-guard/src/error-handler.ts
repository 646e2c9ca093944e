import type { ErrorRequestHandler } from 'express';
import { RedisUnavailableError, SecError } from './errors.js';
import { unavailableBody } from './middleware.js';
import { checkOptions } from './options.js';

export interface SecErrorHandlerOptions {
  /** Named in 503 bodies when the error does not name its guard; default 'redis'. */
  readonly service?: string;
}

/** The `error` field of the JSON body for each client-error status the packages use. */
const ERROR_NAMES: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  429: 'too_many_requests',
};

/**
 * An Express error handler (Express 4 and 5) that answers @sec errors the way the packages' own
 * middleware does: a RedisUnavailableError as 503 with `Retry-After` and the shared JSON body
 * (`unavailableBody`); a SecError with a 4xx status with that status, its headers (e.g.
 * `WWW-Authenticate`) and `{ error }` (plus `message` when the error is safe to expose). Anything
 * else, including a SecError with status 500 (a bug or a configuration mistake, for your own
 * handler and logs), goes on to `next(err)`. Mount it after your routes.
 * @example
 * app.get('/visits', (req, res, next) => {
 *   guard.execute((redis) => redis.incr('visits')).then((visits) => res.json({ visits }), next);
 * });
 * app.use(secErrorHandler());
 */
export function secErrorHandler(options: SecErrorHandlerOptions = {}): ErrorRequestHandler {
  checkOptions('secErrorHandler', options, { service: 'string' });
  const fallbackService = options.service ?? 'redis';
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof RedisUnavailableError) {
      const retryAfter = error.retryAfterSeconds;
      const service = error.service ?? fallbackService;
      res
        .status(503)
        .set('Retry-After', String(retryAfter))
        .set('Cache-Control', 'no-store')
        .json(unavailableBody(service, retryAfter));
      return;
    }
    if (!(error instanceof SecError) || error.status < 400 || error.status >= 500) return next(error);
    const authenticate = error.headers?.['WWW-Authenticate'];
    const name =
      error.status === 401 && authenticate?.includes('error="invalid_token"')
        ? 'invalid_token'
        : (ERROR_NAMES[error.status] ?? 'invalid_request');
    res.status(error.status).set('Cache-Control', 'no-store');
    if (error.headers) res.set(error.headers);
    res.json({ error: name, ...(error.expose && { message: error.message }) });
  };
}
