import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { type SessionManager, type SessionRouterOptions, sessionRouter } from '../src/index.js';
import { manager, redisLoginLimiter } from './helpers.js';

const MAX = 5;

describe('sessionRouter with a login limiter: each attempt is reserved before the password is checked', () => {
  let redis: RedisServer;
  let down: RedisServer;
  let guard: RedisGuard;
  let deadGuard: RedisGuard;
  let sessions: SessionManager;
  const log = captureLogger();
  let verified: string[] = [];

  /** verifyCredentials with slow work between the limiter's check and the answer, as a real hash is. */
  const verifyCredentials: SessionRouterOptions['verifyCredentials'] = async ({ username, password }) => {
    verified.push(String(username));
    await sleep(20);
    return password === 'right' && typeof username === 'string' ? { userId: username } : null;
  };
  const appWith = (options: Omit<SessionRouterOptions, 'verifyCredentials'>) =>
    express()
      .set('trust proxy', true)
      .use('/auth', sessionRouter(sessions, { verifyCredentials, ...options }));

  beforeAll(async () => {
    [redis, down] = await Promise.all([startRedis(), startRedis()]);
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    deadGuard = createRedisGuard({ config: { url: down.url }, environment: 'test', logger: log.logger });
    await Promise.all([guard.ready(), deadGuard.ready()]);
    await down.kill();
    sessions = manager({ redis: guard, logger: log.logger });
  });
  afterAll(async () => {
    await sessions?.close();
    await Promise.all([guard?.close(), deadGuard?.close()]);
    await Promise.all([redis?.stop(), down?.stop()]);
  });

  it('100 parallel guesses: only MAX reach verifyCredentials, the rest are 429 with Retry-After, none 500', async () => {
    verified = [];
    const app = appWith({ loginLimiter: redisLoginLimiter(guard, MAX) });
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(app)
          .post('/auth/login')
          .send({ username: 'victim', password: `guess-${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(MAX);
    expect(statuses.filter((s) => s === 429)).toHaveLength(100 - MAX);
    expect(verified).toHaveLength(MAX);
    for (const answer of answers.filter((a) => a.status === 429))
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The right password does not get through a limit that is already reached.
    const right = await request(app).post('/auth/login').send({ username: 'victim', password: 'right' });
    expect(right.status).toBe(429);
    expect(verified).toHaveLength(MAX);
  });

  it('a success clears the failures; other accounts and clients have their own budget', async () => {
    verified = [];
    const app = appWith({ loginLimiter: redisLoginLimiter(guard, MAX, 'test:reset:') });
    const attempt = (username: string, password: string, ip = '10.0.0.1') =>
      request(app).post('/auth/login').set('x-forwarded-for', ip).send({ username, password });
    for (let i = 0; i < MAX - 1; i++) expect((await attempt('gil', 'wrong')).status).toBe(401);
    expect((await attempt('gil', 'right')).status).toBe(201);
    for (let i = 0; i < MAX; i++) expect((await attempt('gil', 'wrong')).status).toBe(401);
    expect((await attempt('gil', 'wrong')).status).toBe(429);
    expect((await attempt('gil', 'right', '10.0.0.2')).status).toBe(201);
    expect((await attempt('hal', 'right')).status).toBe(201);
  });

  it('counts against the account the app designates', async () => {
    verified = [];
    const app = appWith({
      loginLimiter: redisLoginLimiter(guard, 2, 'test:account:'),
      account: (body) => String(body.email ?? '').toLowerCase(),
    });
    const attempt = (email: string) =>
      request(app).post('/auth/login').send({ email, username: 'x', password: 'no' });
    expect((await attempt('Ivy@example.com')).status).toBe(401);
    expect((await attempt('IVY@EXAMPLE.COM')).status).toBe(401);
    expect((await attempt('ivy@example.com')).status).toBe(429);
  });

  it('when the limiter cannot count, the login is a 503 and the password is never checked', async () => {
    verified = [];
    const app = appWith({ loginLimiter: redisLoginLimiter(deadGuard, MAX) });
    const answer = await request(app).post('/auth/login').send({ username: 'jo', password: 'right' });
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(verified).toEqual([]);
  });

  it('refuses a limiter without reserve() and respond() at creation', () => {
    expect(() => sessionRouter(sessions, { verifyCredentials, loginLimiter: {} as never })).toThrow(
      /reserve/,
    );
  });
});
