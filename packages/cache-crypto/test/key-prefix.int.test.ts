import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { type ConfinedRedis, captureLogger, redisCli, startConfinedRedis } from '@sec/testing';
import { createEncryptedCache, Fernet } from '../src/index.js';

// The guard's keyPrefix is the only prefix: under an ACL user that may touch no key outside it,
// every cache operation, rotation included, still works.

const OLD = Fernet.generateKey();
const NEW = Fernet.generateKey();

describe("the encrypted cache under the guard's keyPrefix", () => {
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

  it('keeps every entry under the prefix, bound to its full key, and every operation works', async () => {
    const before = createEncryptedCache({
      redis: guard,
      keys: OLD,
      namespace: 'profiles',
      logger: log.logger,
    });
    expect(await before.set('user:1', { name: 'Ada' })).toBe(true);
    expect(await before.wrap('user:2', () => ({ name: 'Grace' }))).toEqual({ name: 'Grace' });
    expect(await before.set('gone', 1)).toBe(true);
    expect(await before.del('gone')).toBe(true);
    expect(await redis.keys()).toEqual(['sec:shop:cache:profiles:user:1', 'sec:shop:cache:profiles:user:2']);
    const envelope = JSON.parse(
      new Fernet(OLD)
        .decrypt((await redisCli(redis.server, 'GET', 'sec:shop:cache:profiles:user:1')).trim())
        .toString(),
    );
    expect(envelope.key).toBe('sec:shop:cache:profiles:user:1');

    const after = createEncryptedCache({
      redis: guard,
      keys: [NEW, OLD],
      namespace: 'profiles',
      logger: log.logger,
    });
    expect(await after.rotate()).toMatchObject({ rotated: 2, invalid: 0, complete: true });
    expect(await after.get('user:1')).toEqual({ name: 'Ada' });
    expect(log.records.filter((r) => r.level === 'error' || r.level === 'warn')).toEqual([]);
  });
});
