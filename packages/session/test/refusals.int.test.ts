import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import { captureLogger, type RedisServer, refuseWrites, startRedis } from '@sec/testing';
import express from 'express';
import { type SessionManager, sessionRouter } from '../src/index.js';
import { bearer, listen, manager } from './helpers.js';

// A live Redis that refuses writes (NOREPLICAS, OOM, MISCONF) or denies a command (NOPERM): every
// answer is the documented success, a clean 4xx, or 503 + Retry-After; never a 500. A 503 means
// the change did not happen (a refused logout leaves the session valid), a 2xx that it did.

const PASSWORD = 'session-Refusals-Password-0123456789-abcd';
const MINUTE = 60_000;

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
  };
}

function expect503(answer: Answer) {
  expect(answer).toMatchObject({
    status: 503,
    retryAfter: expect.stringMatching(/^[1-9]\d*$/),
    body: { error: 'service_unavailable', service: 'session' },
  });
}

function app(sessions: SessionManager): express.Express {
  const application = express();
  application.use(
    '/auth',
    sessionRouter(sessions, {
      verifyCredentials: ({ username, password }) =>
        typeof username === 'string' && password === 'right' ? { userId: username } : null,
    }),
  );
  application.get('/me', sessions.authenticate(), (req, res) => {
    res.json(req.auth);
  });
  return application;
}

const login = (url: string, username: string) =>
  call(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'right' }),
  });

describe.each(['NOREPLICAS', 'OOM', 'MISCONF'] as const)(
  'sessions on a server refusing writes with %s',
  (refusal) => {
    let redis: RedisServer;
    let guard: RedisGuard;
    let sessions: SessionManager;
    let http: { server: Server; url: string };
    let clock = Date.now();
    const log = captureLogger();

    beforeAll(async () => {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment: 'production',
        logger: log.logger,
      });
      await guard.ready();
      sessions = manager({ redis: guard, logger: log.logger, cookie: false, now: () => clock });
      http = await listen(app(sessions));
    });
    afterAll(async () => {
      http?.server.close();
      await sessions?.close();
      await guard?.close();
      await redis?.stop();
    });

    // OOM refuses only writes that may grow memory: deletes (a logout, a revocation) still work.
    const deletesRefused = refusal !== 'OOM';

    it('answers 503 + Retry-After to what it cannot write, and every answer tells the truth about the session', async () => {
      const first = await login(http.url, 'alice');
      expect(first.status).toBe(201);
      const { accessToken, sessionId } = first.body as { accessToken: string; sessionId: string };
      const other = await sessions.create('alice');
      const third = await sessions.create('erin');
      const me = () => call(`${http.url}/me`, { headers: bearer(accessToken) });

      const restore = await refuseWrites(redis, refusal);
      let loggedOut: Answer;
      let revokeOther: Answer;
      try {
        expect503(await login(http.url, 'bob'));
        // Reading needs no write: the session is valid and says so.
        expect(await me()).toMatchObject({ status: 200, body: { userId: 'alice', sessionId } });
        expect((await call(`${http.url}/auth/sessions`, { headers: bearer(accessToken) })).status).toBe(200);

        revokeOther = await call(`${http.url}/auth/sessions/${encodeURIComponent(other.sessionId)}`, {
          method: 'DELETE',
          headers: bearer(accessToken),
        });
        if (deletesRefused) expect503(revokeOther);
        else expect(revokeOther.status).toBe(204);

        // The manager API rejects with the guard's error whatever it could not write.
        await expect(sessions.create('carol')).rejects.toBeInstanceOf(RedisUnavailableError);
        await expect(sessions.updateUser('alice', { roles: ['admin'] })).rejects.toBeInstanceOf(
          RedisUnavailableError,
        );

        loggedOut = await call(`${http.url}/auth/logout`, { method: 'POST', headers: bearer(accessToken) });
        if (deletesRefused) expect503(loggedOut);
        else expect(loggedOut.status).toBe(204);

        // Once the idle expiry is due for a slide, the check must write: 503, not 401 and not 500.
        clock += 2 * MINUTE;
        expect503(await call(`${http.url}/me`, { headers: bearer(third.accessToken) }));
      } finally {
        await restore();
      }
      // What answered 503 did not happen; what answered 2xx did.
      expect(await sessions.get(other.sessionId)).toEqual(
        revokeOther.status === 204 ? undefined : expect.any(Object),
      );
      expect((await me()).status).toBe(loggedOut.status === 204 ? 401 : 200);
      expect(await sessions.listForUser('bob')).toHaveLength(0);
      expect(await sessions.listForUser('carol')).toHaveLength(0);
      if (loggedOut.status !== 204) {
        expect(await sessions.get(sessionId)).toMatchObject({ roles: [] });
        expect(
          (await call(`${http.url}/auth/logout`, { method: 'POST', headers: bearer(accessToken) })).status,
        ).toBe(204);
        expect((await me()).status).toBe(401);
      }
      expect(log.text()).not.toContain(PASSWORD);
    });

    it('the manager API: revocations reject while deletes are refused, and took no effect', async () => {
      const session = await sessions.create('dave');
      const restore = await refuseWrites(redis, refusal);
      try {
        if (deletesRefused) {
          await expect(sessions.revoke(session.sessionId)).rejects.toBeInstanceOf(RedisUnavailableError);
          await expect(sessions.revokeAllForUser('dave')).rejects.toBeInstanceOf(RedisUnavailableError);
        } else {
          expect(await sessions.revoke(session.sessionId)).toBe(true);
        }
      } finally {
        await restore();
      }
      expect(await sessions.get(session.sessionId)).toEqual(deletesRefused ? expect.any(Object) : undefined);
    });
  },
);

describe('sessions with a Redis ACL user that may not publish (NOPERM)', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let http: { server: Server; url: string };
  const log = captureLogger();
  const APP_PASSWORD = 'session-Acl-Password-0123456789-abcdefgh';

  beforeAll(async () => {
    // Every key and command, but no Pub/Sub channel: the audit events cannot be published.
    redis = await startRedis({
      users: [{ name: 'app', password: APP_PASSWORD, rules: '~* resetchannels +@all' }],
    });
    guard = createRedisGuard({
      config: { url: redis.url, username: 'app', password: APP_PASSWORD },
      environment: 'test',
      logger: log.logger,
    });
    await guard.ready();
    sessions = manager({ redis: guard, logger: log.logger, cookie: false });
    http = await listen(app(sessions));
  });
  afterAll(async () => {
    http?.server.close();
    await sessions?.close();
    await guard?.close();
    await redis?.stop();
  });

  it('answers 503 (never 500) and logs one configuration error naming what is denied', async () => {
    for (let i = 0; i < 5; i++) expect503(await login(http.url, 'alice'));
    const denials = log.records.filter(
      (r) => (r.obj as { event?: string }).event === 'redis.config.permission_denied',
    );
    expect(denials).toHaveLength(1);
    expect(denials[0]!.level).toBe('error');
    expect(denials[0]!.msg).toMatch(/Redis configuration error: the ACL user is denied \w+ \(.*channel/i);
    expect(guard.breaker.state).toBe('closed');
    expect(log.text()).not.toContain(APP_PASSWORD);
  });
});
