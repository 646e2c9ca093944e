import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { type SessionManager, sessionRouter } from '../src/index.js';
import { bearer, manager, redisLoginLimiter } from './helpers.js';

const PASSWORDS: Record<string, string> = { ann: 'ann-pw', bob: 'bob-pw' };
const CHALLENGE =
  'Bearer realm="api", error="insufficient_user_authentication", ' +
  'error_description="A more recent authentication is required", max_age="300"';

describe('step-up: requireRecentAuth() and POST /reauthenticate', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let sessions: SessionManager;
  let app: express.Express;
  let clock = Date.now();
  let verified = 0;

  beforeAll(async () => {
    redis = await startRedis();
    const log = captureLogger();
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
    sessions = manager({ redis: guard, logger: log.logger, now: () => clock, idleTimeoutMs: 3_600_000 });
    app = express();
    app.use(
      '/auth',
      sessionRouter(sessions, {
        verifyCredentials: ({ username, password }) => {
          verified++;
          return typeof username === 'string' && PASSWORDS[username] === password
            ? { userId: username }
            : null;
        },
        loginLimiter: redisLoginLimiter(guard, 3),
      }),
    );
    app.get('/me', sessions.authenticate(), (req, res) => {
      res.json(req.auth);
    });
    app.post('/password', sessions.authenticate(), sessions.requireRecentAuth(300_000), (_req, res) => {
      res.json({ changed: true });
    });
    app.post('/unguarded', sessions.requireRecentAuth(300_000), (_req, res) => {
      res.json({ reached: true });
    });
  });
  afterAll(async () => {
    await sessions?.close();
    await guard?.close();
    await redis?.stop();
  });

  const login = async (username: string) =>
    (await request(app).post('/auth/login').send({ username, password: PASSWORDS[username] })).body
      .accessToken as string;

  it('lets a fresh login through, then answers the RFC 9470 challenge once the login is older than maxAgeMs', async () => {
    const token = await login('ann');
    expect((await request(app).post('/password').set(bearer(token))).status).toBe(200);
    clock += 5 * 60_000 + 1_000;
    const stale = await request(app).post('/password').set(bearer(token));
    expect(stale.status).toBe(401);
    expect(stale.headers['www-authenticate']).toBe(CHALLENGE);
    expect(stale.body).toEqual({ error: 'insufficient_user_authentication', maxAge: 300 });
    // The session itself is fine: only the sensitive route asks for more.
    expect((await request(app).get('/me').set(bearer(token))).status).toBe(200);
  });

  it('re-authenticating with the right password refreshes the time; a wrong one or another user does not', async () => {
    const token = await login('ann');
    clock += 10 * 60_000;
    const before = (await request(app).get('/me').set(bearer(token))).body.authenticatedAt as string;
    const wrong = await request(app)
      .post('/auth/reauthenticate')
      .set(bearer(token))
      .send({ username: 'ann', password: 'nope' });
    expect(wrong.status).toBe(401);
    const otherUser = await request(app)
      .post('/auth/reauthenticate')
      .set(bearer(token))
      .send({ username: 'bob', password: 'bob-pw' });
    expect(otherUser.status).toBe(401);
    expect((await request(app).post('/password').set(bearer(token))).status).toBe(401);

    const right = await request(app)
      .post('/auth/reauthenticate')
      .set(bearer(token))
      .send({ username: 'ann', password: 'ann-pw' });
    expect(right.status).toBe(204);
    const after = (await request(app).get('/me').set(bearer(token))).body.authenticatedAt as string;
    expect(new Date(after).getTime()).toBe(clock);
    expect(new Date(after).getTime()).toBeGreaterThan(new Date(before).getTime());
    expect((await request(app).post('/password').set(bearer(token))).status).toBe(200);
  });

  it('password guessing through /reauthenticate is limited like logins, before the password is checked', async () => {
    const token = await login('bob');
    const guesses = [];
    for (let i = 0; i < 6; i++) {
      guesses.push(
        await request(app)
          .post('/auth/reauthenticate')
          .set(bearer(token))
          .send({ username: 'bob', password: `guess-${i}` }),
      );
    }
    const before = verified;
    const blocked = await request(app)
      .post('/auth/reauthenticate')
      .set(bearer(token))
      .send({ username: 'bob', password: 'bob-pw' });
    expect(guesses.map((g) => g.status)).toEqual([401, 401, 401, 429, 429, 429]);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(verified).toBe(before);
  });

  it('without authenticate() in front, requireRecentAuth() answers a plain 401', async () => {
    const response = await request(app).post('/unguarded');
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('refuses a maxAgeMs that is not a whole number of ms, at least a second, at creation', () => {
    for (const maxAgeMs of ['5m', 300, 0, 1_500.5, -1]) {
      expect(() => sessions.requireRecentAuth(maxAgeMs as never)).toThrow(/maxAgeMs must be an integer/);
    }
  });
});
