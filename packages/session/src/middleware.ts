import { type RedisGuard, sendServiceUnavailable } from '@sec/redis-guard';
import {
  type AdmissionStep,
  type AdmissionVerdict,
  checkOptions,
  type OptionRule,
  type RedisWork,
  refusalRank,
  runPipelined,
} from '@sec/redis-guard/internal';
import type { Request, RequestHandler, Response } from 'express';
import { SessionArgumentError } from './errors.js';
import { assertRoles } from './ids.js';
import { DEFAULT_REALM } from './manager-options.js';
import type { RequestOutcome, RequestPath } from './request-path.js';
import type { SessionLookup } from './store.js';

/**
 * Options of authenticate().
 * @example app.get('/feed', sessions.authenticate({ optional: true }), (req, res) => res.json({ personal: Boolean(req.auth) }));
 */
export interface AuthenticateOptions {
  /** Let requests without any token through unauthenticated (`req.auth` unset). An invalid token is still a 401. */
  readonly optional?: boolean;
  /**
   * Checks decided together with the session, their Redis work and the session lookup sent in one
   * pipelined write (one round trip; on Cluster one per node, in parallel): typically rate limiters
   * (`rateLimit()`), which must use the session manager's guard. Precedence when several refuse:
   * 503, then 401/403, then 429.
   */
  readonly with?: readonly AdmissionStep[];
}

/**
 * 401 with an RFC 6750 challenge. The body says only `invalid_token`, whatever the reason: the
 * reason is in the log, not in the hands of whoever is probing.
 * @example sendUnauthorized(res, 'api', true);
 */
export function sendUnauthorized(res: Response, realm: string, invalid: boolean): void {
  res
    .status(401)
    .set(
      'WWW-Authenticate',
      invalid ? `Bearer realm="${realm}", error="invalid_token"` : `Bearer realm="${realm}"`,
    )
    .set('Cache-Control', 'no-store')
    .json({ error: invalid ? 'invalid_token' : 'unauthorized' });
}

/**
 * 403 for a cookie-authenticated state-changing request from an untrusted origin.
 */
export function sendCrossOrigin(res: Response): void {
  res.status(403).set('Cache-Control', 'no-store').json({ error: 'cross_origin_request' });
}

/**
 * The authenticate() middleware: runs the request path (token, then the session record in Redis)
 * on every request and answers its outcome. 401 for anything wrong with the token or session; 403
 * for a cookie-authenticated state-changing request from an untrusted origin; 503 (never 401,
 * never 500) when the session store cannot answer, in every environment: an outage must not log
 * anyone in or out. The request path has already logged the refusal.
 */
export function createAuthenticate(
  path: RequestPath,
  guard: RedisGuard,
  realm: string,
  options: AuthenticateOptions = {},
): RequestHandler {
  checkOptions('authenticate', options, { optional: 'boolean', with: stepsOption(guard) });
  const optional = options.optional === true;
  if (options.with?.length) return admission(path, guard, realm, optional, options.with);
  return (req: Request, res, next) => {
    path.authenticate(req).then((outcome) => {
      switch (outcome.kind) {
        case 'authenticated':
          req.auth = outcome.auth;
          return next();
        case 'refused': {
          const { reason } = outcome.error;
          if (optional && reason === 'missing') return next();
          return sendUnauthorized(res, realm, reason !== 'missing');
        }
        case 'forbidden':
          return sendCrossOrigin(res);
        case 'unavailable':
          return sendServiceUnavailable(res, guard, 'session');
      }
    }, next);
  };
}

/** `with`: admission steps on the manager's own guard (one pipeline needs one connection). */
function stepsOption(guard: RedisGuard): OptionRule {
  return {
    kind: 'array',
    check: (value) => {
      for (const step of value as readonly Partial<AdmissionStep>[]) {
        if (typeof step?.planAdmission !== 'function') {
          return 'must hold admission steps, such as limiters from rateLimit() of @sec/rate-limit';
        }
        if (step.guard !== guard) {
          return "must hold steps created on the session manager's guard (pass the same `redis` to both): their Redis work shares one pipeline";
        }
      }
      return undefined;
    },
  };
}

/** The session check's outcome as a verdict; `auth` is set on the request only when every check passes. */
function sessionVerdict(
  outcome: RequestOutcome,
  guard: RedisGuard,
  realm: string,
  optional: boolean,
): AdmissionVerdict {
  switch (outcome.kind) {
    case 'authenticated':
      return { kind: 'pass' };
    case 'refused': {
      const { reason } = outcome.error;
      if (optional && reason === 'missing') return { kind: 'pass' };
      return {
        kind: 'refuse',
        status: 401,
        send: (res) => sendUnauthorized(res, realm, reason !== 'missing'),
      };
    }
    case 'forbidden':
      return { kind: 'refuse', status: 403, send: sendCrossOrigin };
    case 'unavailable':
      return { kind: 'refuse', status: 503, send: (res) => sendServiceUnavailable(res, guard, 'session') };
  }
}

/**
 * authenticate({ with }): the token is verified while each step does its local part (keys,
 * costs); then the session lookup and every step's Redis work go out together (runPipelined), and
 * the highest-ranked refusal answers (refusalRank: 503, then 401/403, then 429), the passing
 * steps' headers set either way. A request no check refuses continues with `req.auth` set.
 */
function admission(
  path: RequestPath,
  guard: RedisGuard,
  realm: string,
  optional: boolean,
  steps: readonly AdmissionStep[],
): RequestHandler {
  async function decide(req: Request): Promise<{ outcome: RequestOutcome; verdicts: AdmissionVerdict[] }> {
    const [session, plans] = await Promise.all([
      path.plan(req),
      Promise.all(steps.map((step) => step.planAdmission(req))),
    ]);
    const pending = 'work' in session ? session : undefined;
    const works: RedisWork<unknown>[] = [];
    if (pending) works.push(pending.work);
    for (const plan of plans) if ('work' in plan) works.push(plan.work);
    let results: unknown[] | undefined;
    let failure: unknown;
    if (works.length > 0) {
      try {
        results = await runPipelined(guard, works);
      } catch (error) {
        failure = error;
      }
    }
    let next = 0;
    const take = () => results?.[next++];
    const outcome = pending
      ? results
        ? await pending.finish(take() as SessionLookup)
        : pending.fail(failure)
      : (session as RequestOutcome);
    const verdicts = await Promise.all(
      plans.map((plan) => {
        if (!('work' in plan)) return plan.verdict;
        return results ? (take() as AdmissionVerdict) : plan.fail(failure);
      }),
    );
    return { outcome, verdicts };
  }

  return (req: Request, res, next) => {
    decide(req).then(({ outcome, verdicts }) => {
      let answer: AdmissionVerdict = sessionVerdict(outcome, guard, realm, optional);
      for (const verdict of verdicts) {
        if (verdict.kind === 'pass') verdict.apply?.(res);
        else if (answer.kind === 'pass' || refusalRank(verdict.status) > refusalRank(answer.status))
          answer = verdict;
      }
      if (answer.kind === 'refuse') return answer.send(res);
      if (outcome.kind === 'authenticated') req.auth = outcome.auth;
      next();
    }, next);
  };
}

/**
 * requireRole with the realm used in its 401 challenge; the manager passes its own.
 */
export function createRoleGuard(realm: string, roles: readonly string[]): RequestHandler {
  if (roles.length === 0) throw new SessionArgumentError('roles', 'requireRole() needs at least one role');
  const wanted = assertRoles(roles);
  return (req, res, next) => {
    const auth = req.auth;
    if (!auth) return sendUnauthorized(res, realm, false);
    if (wanted.some((role) => auth.roles.includes(role))) return next();
    res.status(403).set('Cache-Control', 'no-store').json({ error: 'forbidden' });
  };
}

/**
 * 403 unless the authenticated user has at least one of the roles (401 when authenticate() did
 * not run or let the request through unauthenticated). Roles are read from Redis on each request.
 * @example app.delete('/users/:id', sessions.authenticate(), requireRole('admin'), handler);
 */
export function requireRole(...roles: string[]): RequestHandler {
  return createRoleGuard(DEFAULT_REALM, roles);
}
