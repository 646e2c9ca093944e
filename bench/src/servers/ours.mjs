// Our stack, or a part of it: `node ours.mjs <variant>`, one guard (ioredis, auto-pipelining on)
// shared by @sec/session and @sec/rate-limit.
//   ours          app.use(rateLimit()) then app.use(authenticate()): two Redis round trips in turn
//   authenticate  authenticate() only
//   rate-limit    rateLimit() only
//   parallel      experiment, not a package API: limiter.consume(req) and authenticateRequest(req)
//                 started together, so auto-pipelining sends both scripts in one write
//   combined      authenticate({ with: [rateLimit()] }): both in one pipelined write
//   two-windows   rateLimit() with two windows (per second and per hour) only
//   flood         rateLimit() only, for a client already over its limit: every request is a 429
import { randomBytes } from 'node:crypto';
import { rateLimit, sendTooManyRequests, setRateLimitHeaders } from '@sec/rate-limit';
import { createRedisGuard, sendServiceUnavailable } from '@sec/redis-guard';
import { createSessionManager, InvalidTokenError, sendUnauthorized } from '@sec/session';
import express from 'express';
import { BENCH_USER, ROUTE, redisSettings, serve, silentLogger } from './serve.mjs';

const VARIANTS = {
  ours: { auth: true, limit: true },
  authenticate: { auth: true, limit: false },
  'rate-limit': { auth: false, limit: true },
  parallel: { auth: true, limit: true },
  combined: { auth: true, limit: true },
  'two-windows': { auth: false, limit: true },
  flood: { auth: false, limit: true },
};
const HUGE = 1_000_000_000;
const LIMITS = {
  'two-windows': {
    windows: [
      { points: HUGE, windowMs: 1_000 },
      { points: HUGE, windowMs: 3_600_000 },
    ],
  },
  // One request per hour: the runner's check request spends it, every later one is refused.
  flood: { points: 1, windowMs: 3_600_000 },
};
const variant = process.argv[2] ?? 'ours';
const uses = VARIANTS[variant];
if (!uses) throw new Error(`unknown variant "${variant}"`);

const guard = createRedisGuard({ config: redisSettings(), environment: 'test', logger: silentLogger });
await guard.ready();
const sessions = uses.auth
  ? createSessionManager({
      redis: guard,
      signingKeys: [{ kid: 'bench', secret: randomBytes(32) }],
      issuer: 'https://bench.local',
      audience: 'bench',
      logger: silentLogger,
    })
  : undefined;
const limiter = uses.limit
  ? rateLimit({ redis: guard, name: 'bench', ...(LIMITS[variant] ?? { points: HUGE, windowMs: 3_600_000 }) })
  : undefined;

/** Both checks at once; answers as the two middlewares would (401, 429, 503 or next()). */
function parallel(req, res, next) {
  const auth = sessions.authenticateRequest(req);
  limiter.consume(req).then((decision) => {
    auth.then(
      (context) => {
        if (decision.outcome === 'unavailable') return sendServiceUnavailable(res, guard, 'rate-limit');
        setRateLimitHeaders(res, decision.info);
        if (decision.outcome === 'limited')
          return sendTooManyRequests(res, 'bench', decision.retryAfterSeconds);
        req.auth = context;
        next();
      },
      (error) =>
        error instanceof InvalidTokenError ? sendUnauthorized(res, sessions.realm, true) : next(error),
    );
  }, next);
}

const app = express();
if (variant === 'parallel') {
  app.use(parallel);
} else if (variant === 'combined') {
  app.use(sessions.authenticate({ with: [limiter] }));
} else {
  if (limiter) app.use(limiter);
  if (sessions) app.use(sessions.authenticate());
}
app.get(ROUTE, (req, res) => {
  res.json(
    req.auth ? { userId: req.auth.userId, roles: req.auth.roles } : { userId: BENCH_USER, roles: ['user'] },
  );
});

await serve(app, {
  async credentials() {
    if (!sessions) return {};
    const { accessToken } = await sessions.create(BENCH_USER, { roles: ['user'] });
    return { authorization: `Bearer ${accessToken}` };
  },
  async close() {
    await sessions?.close();
    await guard.close();
  },
});
