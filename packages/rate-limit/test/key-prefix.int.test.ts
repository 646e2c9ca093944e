import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { type ConfinedRedis, captureLogger, startConfinedRedis } from '@sec/testing';
import type { Request } from 'express';
import { loginLimiter, rateLimit } from '../src/index.js';

// The guard's keyPrefix is the only prefix: under an ACL user that may touch no key outside it,
// counting, blocking, resetting and the login limiter's reserve and refund still work.

describe("rate limits under the guard's keyPrefix", () => {
  let redis: ConfinedRedis;
  let guard: RedisGuard;
  const log = captureLogger();

  beforeAll(async () => {
    redis = await startConfinedRedis('sec:shop:');
    guard = createRedisGuard({
      config: redis.config,
      environment: 'test',
      logger: log.logger,
      keyPrefix: 'sec:shop:',
    });
    await guard.ready();
  });
  afterAll(async () => {
    await guard?.close();
    await redis?.server.stop();
  });

  it('keeps every counter under the prefix, with its hash tag, and every operation works', async () => {
    const limiter = rateLimit({ redis: guard, name: 'api', points: 2, windowMs: 60_000 });
    expect((await limiter.consumeKey('user:1')).outcome).toBe('allowed');
    expect((await limiter.consumeKey('user:1')).outcome).toBe('allowed');
    expect((await limiter.consumeKey('user:1')).outcome).toBe('limited');
    await limiter.reset('user:1');
    expect((await limiter.consumeKey('user:1')).outcome).toBe('allowed');

    const login = loginLimiter({ redis: guard, name: 'login' });
    const req = { ip: '203.0.113.9', headers: {}, app: { get: () => false } } as unknown as Request;
    const failed = await login.reserve(req, 'ada');
    expect(failed.outcome).toBe('allowed');
    if (failed.outcome === 'allowed') await failed.failed();
    const succeeded = await login.reserve(req, 'ada');
    if (succeeded.outcome === 'allowed') await succeeded.succeeded();

    const keys = await redis.keys();
    expect(keys).toEqual(['sec:shop:rl:api:{api:user:1}', 'sec:shop:rl:login.ip:{login.ip:ip:203.0.113.9}']);
    expect(log.records.filter((r) => r.level === 'error' || r.level === 'warn')).toEqual([]);
  });
});
