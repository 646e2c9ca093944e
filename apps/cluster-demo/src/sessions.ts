import type { RedisGuard } from '@sec/redis-guard';
import { createSessionManager, type SessionManager } from '@sec/session';

/** Sessions, and the access tokens that carry them, end 8 hours after login. */
const SESSION_MS = 8 * 3_600_000;
/**
 * Live sessions per user. Above the package's default (50) because the long reliability run
 * (`RELIABILITY_LONG=1`) holds 100 sessions per user at once, and a login past the cap would
 * quietly revoke the least recently used one.
 */
export const DEMO_MAX_SESSIONS_PER_USER = 100;
const ISSUER = 'cluster-demo';

/** The demo's two ways into one session store. */
export interface DemoSessions {
  /** Bearer tokens for `/auth`, `/api` and `/ws`: never reads a cookie, so no request can be forged. */
  readonly api: SessionManager;
  /** The dashboard's HttpOnly `__Host-` cookie, with the origin check on every state-changing request. */
  readonly dashboard: SessionManager;
}

/**
 * Two managers on the same Redis, keys, key prefix and limits, so a user's sessions are one list
 * whichever way they signed in, and a revocation through either ends them everywhere. They differ
 * only in how the token travels. The API hands its token to the client (curl, scripts) and reads
 * only the Authorization header; the dashboard keeps its token in a cookie that page scripts cannot
 * read, and in cookie mode the login answer leaves the token out, which API clients need. Tokens
 * carry different audiences, so neither manager accepts the other's.
 */
export function createDemoSessions(guard: RedisGuard, secret: string): DemoSessions {
  const common = {
    redis: guard,
    signingKeys: [{ kid: 'demo-1', secret }],
    issuer: ISSUER,
    idleTimeoutMs: 30 * 60_000,
    absoluteTimeoutMs: SESSION_MS,
    maxSessionsPerUser: DEMO_MAX_SESSIONS_PER_USER,
  } as const;
  return {
    api: createSessionManager({ ...common, audience: 'cluster-demo' }),
    // Secure even in development: browsers keep Secure cookies from http://localhost and 127.0.0.1.
    dashboard: createSessionManager({
      ...common,
      audience: 'cluster-demo-dashboard',
      cookie: { sameSite: 'strict' },
    }),
  };
}
