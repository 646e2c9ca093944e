import { afterAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard } from '@sec/redis-guard';
import { captureLogger, freePort, PRODUCTION_ON_LOOPBACK } from '@sec/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { loginLimiter, rateLimit } from '../src/index.js';
import { appWith, loginApp } from './helpers.js';

// A client whose server never answers: the fault a real server cannot be asked to produce on
// demand before the first request (it never connects at all).
const clients: Redis[] = [];
async function unreachableClient(): Promise<Redis> {
  const client = new Redis({
    host: '127.0.0.1',
    port: await freePort(),
    password: 'outage-Test-Password-0123456789abcdefgh',
    retryStrategy: () => 200,
  });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

afterAll(() => {
  for (const client of clients) client.disconnect();
});

describe('Redis unreachable', () => {
  it('production: 503 with Retry-After from the rate limiter, never next()', async () => {
    const guard = createRedisGuard({
      client: await unreachableClient(),
      environment: 'production',
      env: PRODUCTION_ON_LOOPBACK,
      logger: captureLogger().logger,
    });
    let reached = 0;
    const app = appWith(rateLimit({ redis: guard, points: 100 }), (_req, _res, next) => {
      reached += 1;
      next();
    });
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/');
      expect(res.status).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(res.body).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
    }
    expect(reached).toBe(0);
  });

  it('production: the login limiter answers 503 too', async () => {
    const guard = createRedisGuard({
      client: await unreachableClient(),
      environment: 'production',
      env: PRODUCTION_ON_LOOPBACK,
      logger: captureLogger().logger,
    });
    const login = loginLimiter({ redis: guard });
    const res = await request(loginApp(login)).post('/login').send({ username: 'alice', password: 'right' });
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const attempt = await login.reserve({ ip: '203.0.113.1', headers: {} } as never, 'alice');
    expect(attempt).toMatchObject({ outcome: 'unavailable', error: expect.any(Error) });
  });

  it.each(['development', 'test'] as const)(
    '%s with a configured Redis that is down: 503 too, never a silent switch to counting in memory',
    async (environment) => {
      const log = captureLogger();
      const guard = createRedisGuard({ client: await unreachableClient(), environment, logger: log.logger });
      let reached = 0;
      const app = appWith(
        rateLimit({ redis: guard, name: `dev-${environment}`, points: 2 }),
        (_req, _res, next) => {
          reached += 1;
          next();
        },
      );
      for (let i = 0; i < 3; i++) {
        const res = await request(app).get('/');
        expect(res.status).toBe(503);
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      expect(reached).toBe(0);
      expect(log.messages('warn').filter((m) => m.includes('counts in this process'))).toHaveLength(0);
    },
  );

  it('failClosed: false is the explicit switch: counts in memory after one warning, so limits still apply', async () => {
    const log = captureLogger();
    const guard = createRedisGuard({
      client: await unreachableClient(),
      environment: 'development',
      failClosed: false,
      logger: log.logger,
    });
    const app = appWith(rateLimit({ redis: guard, name: 'fail-open', points: 2 }));
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(429);
    expect(log.messages('warn').filter((m) => m.includes('failClosed: false'))).toHaveLength(1);
  });

  it('reset() rejects with an Error (RedisUnavailableError) on a fail-closed guard', async () => {
    const guard = createRedisGuard({
      client: await unreachableClient(),
      environment: 'staging',
      env: PRODUCTION_ON_LOOPBACK,
      logger: captureLogger().logger,
    });
    const limiter = rateLimit({ redis: guard });
    await expect(limiter.reset('ip:203.0.113.1')).rejects.toMatchObject({
      name: 'RedisUnavailableError',
      retryAfterSeconds: expect.any(Number),
    });
  });
});
