import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { createEncryptedCache, Fernet, type RotationProgress } from '../src/index.js';
import { redisStore } from '../src/store.js';

const OLD = Fernet.generateKey();
const NEW = Fernet.generateKey();

describe('cache.rotate() on a real Redis', () => {
  let server: RedisServer;
  let raw: Redis;
  const guards: RedisGuard[] = [];
  const cacheWith = async (namespace: string, keys: string[]) => {
    const log = captureLogger();
    const guard = createRedisGuard({ config: { url: server.url }, environment: 'test', logger: log.logger });
    guards.push(guard);
    await guard.ready();
    return { cache: createEncryptedCache({ redis: guard, keys, namespace, logger: log.logger }), log, guard };
  };
  const fill = async (namespace: string, count: number, ttlMs = 600_000) => {
    const { cache } = await cacheWith(namespace, [OLD]);
    await Promise.all(
      Array.from({ length: count }, (_, i) => cache.set(`item:${i}`, { i, pii: `person-${i}` }, { ttlMs })),
    );
  };

  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis({ port: server.port });
  });
  afterAll(async () => {
    raw?.disconnect();
    await Promise.all(guards.map((g) => g.close()));
    await server?.stop();
  });

  it('re-encrypts every entry under the newest key, keeping timestamps, TTLs and other namespaces', async () => {
    await fill('rot', 250);
    await fill('untouched', 5);
    await raw.set('sec:cache:rot:no-ttl-elsewhere', new Fernet(OLD).encrypt('x'));
    await raw.persist('sec:cache:rot:no-ttl-elsewhere');
    const before = new Map<string, { ts: bigint; pttl: number }>();
    for (let i = 0; i < 250; i++) {
      const key = `sec:cache:rot:item:${i}`;
      before.set(key, {
        ts: new Fernet(OLD).extractTimestamp((await raw.get(key))!),
        pttl: await raw.pttl(key),
      });
    }
    const untouched = await raw.get('sec:cache:untouched:item:0');
    const { cache } = await cacheWith('rot', [NEW, OLD]);
    const progress: RotationProgress[] = [];
    const result = await cache.rotate({ batchSize: 40, onProgress: (p) => progress.push(p) });

    expect(result).toMatchObject({ complete: true, cursor: undefined, rotated: 251, invalid: 0 });
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ rotated: 251, cursor: undefined });
    for (const [key, { ts, pttl }] of before) {
      const token = (await raw.get(key))!;
      expect(new Fernet(NEW).extractTimestamp(token)).toBe(ts);
      const after = await raw.pttl(key);
      expect(after).toBeLessThanOrEqual(pttl);
      expect(after).toBeGreaterThan(pttl - 10_000);
    }
    expect(await raw.pttl('sec:cache:rot:no-ttl-elsewhere')).toBe(-1);
    expect(await raw.get('sec:cache:untouched:item:0')).toBe(untouched);
    // The old key can be removed now.
    const { cache: newOnly } = await cacheWith('rot', [NEW]);
    expect(await newOnly.get('item:17')).toEqual({ i: 17, pii: 'person-17' });

    const again = await cache.rotate();
    expect(again).toMatchObject({ rotated: 0, current: 251, complete: true });
  });

  it('stops on a signal and resumes from the cursor', async () => {
    await fill('resume', 300);
    const { cache } = await cacheWith('resume', [NEW, OLD]);
    const controller = new AbortController();
    const first = await cache.rotate({
      batchSize: 50,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(first.complete).toBe(false);
    expect(first.cursor).toEqual(expect.any(String));
    expect(first.rotated).toBeGreaterThan(0);
    expect(first.rotated).toBeLessThan(300);
    const second = await cache.rotate({ batchSize: 50, cursor: first.cursor! });
    expect(second.complete).toBe(true);
    expect(first.rotated + second.rotated).toBe(300);
    const keys = await raw.keys('sec:cache:resume:*');
    for (const key of keys) expect(new Fernet(NEW).decrypt((await raw.get(key))!)).toBeDefined();
  });

  it('leaves undecryptable entries alone, counts and logs them', async () => {
    await fill('bad', 3);
    await raw.set('sec:cache:bad:forged', new Fernet(Fernet.generateKey()).encrypt('x'), 'EX', 60);
    const { cache, log } = await cacheWith('bad', [NEW, OLD]);
    const result = await cache.rotate();
    expect(result).toMatchObject({ rotated: 3, invalid: 1 });
    expect(log.messages('warn').some((m) => m.includes('none of the keys'))).toBe(true);
    expect(log.text()).not.toContain('forged');
  });

  it('never overwrites a value written after it was read (compare-and-set keeping the TTL)', async () => {
    const { guard } = await cacheWith('cas', [NEW, OLD]);
    const store = redisStore(guard);
    await raw.set('sec:cache:cas:k', 'written-by-app', 'EX', 500);
    expect(await store.replaceIfUnchanged('sec:cache:cas:k', 'what-rotation-read', 'rotated')).toBe(false);
    expect(await raw.get('sec:cache:cas:k')).toBe('written-by-app');
    expect(await store.replaceIfUnchanged('sec:cache:cas:k', 'written-by-app', 'rotated')).toBe(true);
    expect(await raw.get('sec:cache:cas:k')).toBe('rotated');
    expect(await raw.ttl('sec:cache:cas:k')).toBeGreaterThan(490);
    await raw.script('FLUSH');
    expect(await store.replaceIfUnchanged('sec:cache:cas:k', 'rotated', 'again')).toBe(true);
  });

  it('validates its options', async () => {
    const { cache } = await cacheWith('opts', [NEW]);
    await expect(cache.rotate({ bachSize: 5 } as never)).rejects.toThrow(/did you mean "batchSize"/);
    await expect(cache.rotate({ batchSize: 0 })).rejects.toThrow(/positive integer/);
  });
});
