import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { captureLogger, type RedisServer, redisCli, refuseWrites, startRedis } from '@sec/testing';
import { createRedisGuard, type RedisGuard, RedisUnavailableError } from '../src/index.js';

const PASSWORD = 'refusals-Password-0123456789-abcdefghijk';

describe.each(['NOREPLICAS', 'OOM', 'MISCONF'] as const)(
  'a server that refuses writes with %s',
  (refusal) => {
    let redis: RedisServer;
    let guard: RedisGuard;
    const log = captureLogger();

    beforeAll(async () => {
      redis = await startRedis({ password: PASSWORD });
      guard = createRedisGuard({
        config: { url: redis.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
        environment: 'production',
        logger: log.logger,
      });
      await guard.ready();
      await guard.execute((c) => c.set('{k}:value', 'before'));
    });
    afterAll(async () => {
      await guard?.close();
      await redis?.stop();
    });

    it('rejects writes with a RedisUnavailableError (503, Retry-After) that did not take effect; reads go on', async () => {
      const restore = await refuseWrites(redis, refusal);
      try {
        const attempts = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            guard
              .execute((c) => c.set('{k}:value', `after-${i}`))
              .then(
                () => 'stored',
                (error: unknown) => error,
              ),
          ),
        );
        for (const error of attempts) {
          expect(error).toBeInstanceOf(RedisUnavailableError);
          expect(error).toMatchObject({
            code: 'ERR_SEC_REDIS_WRITE_REFUSED',
            status: 503,
            statusCode: 503,
            expose: false,
            headers: { 'Retry-After': expect.stringMatching(/^[1-9]\d*$/) },
            service: 'redis',
          });
          expect((error as Error).message).toContain(refusal);
        }
        // A script that writes and a transaction are refused the same way.
        await expect(
          guard.execute((c) => c.eval("return redis.call('SET', KEYS[1], 'x')", 1, '{k}:value')),
        ).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_WRITE_REFUSED' });
        await expect(
          guard.execute((c) => c.multi().set('{k}:value', 'x').incr('{k}:n').exec()),
        ).rejects.toMatchObject({
          code: 'ERR_SEC_REDIS_WRITE_REFUSED',
          message: expect.stringContaining(`Redis refused the write: ${refusal}`),
        });
        expect((await redisCli(redis, 'GET', '{k}:value')).trim()).toBe('before');
        // The link is fine: reads work and the breaker stays closed, so reads are not failed with the writes.
        expect(await guard.execute((c) => c.get('{k}:value'))).toBe('before');
        expect(guard.breaker.snapshot()).toMatchObject({ state: 'closed', failureCount: 0 });
        expect(guard.isAvailable()).toBe(true);
      } finally {
        await restore();
      }
      await guard.execute((c) => c.set('{k}:value', 'restored'));
      expect(await guard.execute((c) => c.get('{k}:value'))).toBe('restored');
      expect(log.text()).not.toContain(PASSWORD);
    });
  },
);

describe('an ACL user that lacks a command (NOPERM)', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  const log = captureLogger();
  const APP_PASSWORD = 'acl-App-Password-0123456789-abcdefghijkl';

  beforeAll(async () => {
    redis = await startRedis({
      password: PASSWORD,
      users: [{ name: 'app', password: APP_PASSWORD, rules: '~* &* +@all -publish -hset' }],
    });
    guard = createRedisGuard({
      config: { url: redis.url, username: 'app', password: APP_PASSWORD },
      environment: 'test',
      logger: log.logger,
    });
    await guard.ready();
  });
  afterAll(async () => {
    await guard?.close();
    await redis?.stop();
  });

  it('is a 503 every time, logged once as a configuration error naming the command, and never opens the breaker', async () => {
    for (let i = 0; i < 12; i++) {
      await expect(guard.execute((c) => c.publish('events', 'x'))).rejects.toMatchObject({
        name: 'RedisUnavailableError',
        code: 'ERR_SEC_REDIS_PERMISSION_DENIED',
        status: 503,
      });
    }
    // Denied inside a script (Redis 7.0 says ERR, later versions NOPERM): the log names the script call.
    for (let i = 0; i < 3; i++) {
      await expect(
        guard.execute((c) => c.eval("return redis.call('HSET', KEYS[1], 'f', 'v')", 1, 'h')),
      ).rejects.toMatchObject({ code: 'ERR_SEC_REDIS_PERMISSION_DENIED' });
    }
    const denials = log.records.filter(
      (r) => (r.obj as { event?: string }).event === 'redis.config.permission_denied',
    );
    expect(denials.map((r) => [r.level, (r.obj as { command?: string }).command])).toEqual([
      ['error', 'PUBLISH'],
      ['error', expect.stringMatching(/^(HSET|EVAL)$/)],
    ]);
    expect(denials[0]!.msg).toMatch(/Redis configuration error: the ACL user is denied PUBLISH/);
    expect(guard.breaker.snapshot()).toMatchObject({ state: 'closed', failureCount: 0 });
    expect(await guard.execute((c) => c.set('allowed', '1'))).toBe('OK');
    expect(log.text()).not.toContain(APP_PASSWORD);
  });
});
