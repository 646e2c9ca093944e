import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, refuseWrites, startRedis } from '@sec/testing';
import { loginLimiter, rateLimit } from '../src/index.js';
import { appWith, type Listening, listen, loginApp } from './helpers.js';

// A live Redis that refuses the counters' writes (NOREPLICAS, OOM, MISCONF) or denies the
// limiter's script (NOPERM): the request is neither let through uncounted nor answered 500, but
// 503 + Retry-After, and the refusal is reported as what it is.

const PASSWORD = 'ratelimit-Refusals-Password-0123456789-ab';

async function expect503(response: Response) {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await response.json()).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
}

describe.each(['NOREPLICAS', 'OOM', 'MISCONF'] as const)(
  'rate limits on a server refusing writes with %s',
  (refusal) => {
    let redis: RedisServer;
    let guard: RedisGuard;
    let api: Listening;
    let logins: Listening;
    const log = captureLogger();
    const limiter = () => rateLimit({ redis: guard, name: `api-${refusal}`, points: 5, windowMs: 60_000 });

    beforeAll(async () => {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment: 'production',
        logger: log.logger,
      });
      await guard.ready();
    });
    afterAll(async () => {
      await api?.close();
      await logins?.close();
      await guard?.close();
      await redis?.stop();
    });

    it('rateLimit and loginLimiter answer 503 + Retry-After, never 500 and never an uncounted pass', async () => {
      const perClient = limiter();
      api = await listen(appWith(perClient));
      logins = await listen(loginApp(loginLimiter({ redis: guard, name: `login-${refusal}` })));
      expect((await fetch(api.url)).status).toBe(200);

      const restore = await refuseWrites(redis, refusal);
      try {
        for (let i = 0; i < 10; i++) await expect503(await fetch(api.url));
        // A wrong password must be counted before it is answered: refused, so 503, not 401.
        const wrong = await fetch(`${logins.url}/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'wrong' }),
        });
        await expect503(wrong);
        const decision = await perClient.consumeKey('user:1');
        expect(decision).toMatchObject({
          outcome: 'unavailable',
          error: { code: 'ERR_SEC_REDIS_WRITE_REFUSED', status: 503 },
        });
      } finally {
        await restore();
      }
      // A refusal is not a deployment error: no "store error" warning, and the breaker stayed closed.
      expect(log.messages('warn').filter((m) => /store call failed/.test(m))).toEqual([]);
      expect(guard.breaker.state).toBe('closed');
      // Only the request before the refusal was counted.
      const after = await fetch(api.url);
      expect(after.status).toBe(200);
      expect(after.headers.get('ratelimit')).toMatch(/;r=3;/);
    });
  },
);

describe('a rate limiter whose Redis ACL user may not run scripts (NOPERM)', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let api: Listening;
  const log = captureLogger();
  const APP_PASSWORD = 'ratelimit-Acl-Password-0123456789-abcdef';

  beforeAll(async () => {
    redis = await startRedis({
      users: [{ name: 'app', password: APP_PASSWORD, rules: '~* &* +@all -@scripting' }],
    });
    guard = createRedisGuard({
      config: { url: redis.url, username: 'app', password: APP_PASSWORD },
      environment: 'test',
      failClosed: true,
      logger: log.logger,
    });
    await guard.ready();
  });
  afterAll(async () => {
    await api?.close();
    await guard?.close();
    await redis?.stop();
  });

  it('answers 503 and logs one configuration error per denied command, naming it', async () => {
    api = await listen(appWith(rateLimit({ redis: guard, name: 'acl', points: 5, windowMs: 60_000 })));
    for (let i = 0; i < 5; i++) await expect503(await fetch(api.url));
    const denials = log.records.filter(
      (r) => (r.obj as { event?: string }).event === 'redis.config.permission_denied',
    );
    // One line per denied command, however many requests met it (the limiter tries EVALSHA, then EVAL).
    expect(denials.map((r) => [r.level, (r.obj as { command?: string }).command]).sort()).toEqual([
      ['error', 'EVAL'],
      ['error', 'EVALSHA'],
    ]);
    expect(log.text()).not.toContain(APP_PASSWORD);
  });
});
