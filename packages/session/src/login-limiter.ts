import type { Request, Response } from 'express';

/**
 * One reserved login attempt, as a login limiter reports it. Only `outcome` and, when allowed,
 * `succeeded()` / `failed()` are used by the router; @sec/rate-limit's attempts carry more.
 * @example const attempt: RouterLoginAttempt = await login.reserve(req, req.body.username);
 */
export type RouterLoginAttempt =
  | {
      readonly outcome: 'allowed';
      /** The credentials were right: the limiter may forget earlier failures. */
      succeeded(): Promise<void>;
      /** The credentials were wrong: the reserved attempt stays counted. */
      failed(): Promise<void>;
    }
  | { readonly outcome: 'limited' | 'unavailable' };

/**
 * What sessionRouter() needs from a login limiter: `loginLimiter()` from @sec/rate-limit has this
 * shape (this package does not depend on it). `reserve` must count the attempt before the
 * password is checked; `respond` answers a refused attempt (429 or 503) and returns true, or
 * returns false for an allowed one.
 * @example const limiter: RouterLoginLimiter = loginLimiter({ redis: guard });
 */
export interface RouterLoginLimiter {
  reserve(req: Request, account: unknown): Promise<RouterLoginAttempt>;
  respond(res: Response, attempt: RouterLoginAttempt): boolean;
}
