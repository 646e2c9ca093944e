import { afterAll, describe, expect, it } from '@jest/globals';
import { ConfigurationError, createRedisGuard, OptionError, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, PRODUCTION_ON_LOOPBACK } from '@sec/testing';
import { Redis } from 'ioredis';
import { createEncryptedCache, Fernet } from '../src/index.js';

const KEY = Fernet.generateKey();

function memoryCache(extra: Partial<Parameters<typeof createEncryptedCache>[0]> = {}) {
  const log = captureLogger();
  const guard = createRedisGuard({ mode: 'memory', environment: 'test', logger: log.logger });
  const cache = createEncryptedCache({
    redis: guard,
    keys: KEY,
    namespace: 'unit',
    logger: log.logger,
    ...extra,
  });
  return { cache, log };
}

const guards: RedisGuard[] = [];
afterAll(async () => {
  await Promise.all(guards.map((g) => g.close()));
});

/** A production guard whose client never connects: enough to check start-up rules. */
function productionGuard() {
  const password = 'cache-Unit-Password-0123456789abcdefghij';
  const client = new Redis({ lazyConnect: true, enableOfflineQueue: false, password });
  const guard = createRedisGuard({
    client,
    environment: 'production',
    env: PRODUCTION_ON_LOOPBACK,
    logger: captureLogger().logger,
  });
  guards.push(guard);
  return guard;
}

describe('createEncryptedCache start-up checks', () => {
  it('refuses to start in production without REDIS_ENCRYPTION_KEY', () => {
    const create = () => createEncryptedCache({ redis: productionGuard(), namespace: 'n', env: {} });
    expect(create).toThrow(ConfigurationError);
    expect(create).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_CACHE_KEY_MISSING', variable: 'REDIS_ENCRYPTION_KEY' }),
    );
  });

  it('refuses an invalid REDIS_ENCRYPTION_KEY in production without echoing it', () => {
    const bad = 'c2hvcnQta2V5LW5vdC0zMi1ieXRlcw==';
    let caught: unknown;
    try {
      createEncryptedCache({ redis: productionGuard(), namespace: 'n', env: { REDIS_ENCRYPTION_KEY: bad } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'ERR_SEC_CACHE_INVALID_KEY', variable: 'REDIS_ENCRYPTION_KEY' });
    expect((caught as Error).message).not.toContain(bad);
  });

  it('reads several comma-separated keys, newest first, from REDIS_ENCRYPTION_KEY', async () => {
    const newer = Fernet.generateKey();
    const { cache } = memoryCache({ keys: undefined, env: { REDIS_ENCRYPTION_KEY: `${newer}, ${KEY}` } });
    await cache.set('k', 1);
    // Rotation finds the entry already under the newest key.
    expect(await cache.rotate()).toMatchObject({ scanned: 1, current: 1, rotated: 0, complete: true });
    expect(await cache.get('k')).toBe(1);
  });

  it('refuses an invalid key in the keys option, in any environment, naming its position', () => {
    expect(() => memoryCache({ keys: [KEY, 'nope'] })).toThrow(
      expect.objectContaining({ code: 'ERR_SEC_CACHE_INVALID_KEY', variable: 'keys[1]' }),
    );
    expect(() => memoryCache({ keys: [] })).toThrow(ConfigurationError);
  });

  it('uses a random per-process key in development and says so', () => {
    const { log } = memoryCache({ keys: undefined, env: {} });
    expect(log.records.some((r) => (r.obj as { event?: string }).event === 'cache.ephemeral_key')).toBe(true);
  });

  it('validates options once, with suggestions for typos', () => {
    expect(() => memoryCache({ defualtTtlMs: 5 } as never)).toThrow(/did you mean "defaultTtlMs"/);
    // A unit-less option in seconds is refused rather than read as milliseconds.
    expect(() => memoryCache({ defaultTtl: 60 } as never)).toThrow(/did you mean "defaultTtlMs"/);
    expect(() => memoryCache({ namespace: 'a:b' })).toThrow(OptionError);
    expect(() => memoryCache({ namespace: 'a*' })).toThrow(OptionError);
    expect(() => memoryCache({ defaultTtlMs: 0 })).toThrow(OptionError);
    expect(() => memoryCache({ defaultTtlMs: 1.5 })).toThrow(OptionError);
    expect(() => createEncryptedCache({ keys: KEY } as never)).toThrow(/namespace/);
  });
});

describe('EncryptedCache in memory mode', () => {
  it('stores JSON values encrypted, readable with the key', async () => {
    const { cache } = memoryCache();
    const value = { name: 'Ada Lovelace', born: 1815, tags: ['math'], nested: { ok: true, none: null } };
    expect(await cache.set('user:1', value)).toBe(true);
    expect(await cache.get('user:1')).toEqual(value);
    expect(await cache.get('user:2')).toBeUndefined();
    expect(await cache.del('user:1')).toBe(true);
    expect(await cache.get('user:1')).toBeUndefined();
    expect(await cache.del('user:1')).toBe(false);
  });

  it('stores null and falsy values as hits', async () => {
    const { cache } = memoryCache();
    await cache.set('null', null);
    await cache.set('zero', 0);
    expect(await cache.get('null')).toBeNull();
    expect(await cache.get('zero')).toBe(0);
  });

  it('refuses undefined values, bad keys and bad ttls', async () => {
    const { cache } = memoryCache();
    await expect(cache.set('k', undefined)).rejects.toThrow(OptionError);
    await expect(cache.set('', 1)).rejects.toThrow(OptionError);
    await expect(cache.set('x'.repeat(1025), 1)).rejects.toThrow(OptionError);
    await expect(cache.set('k', 1, { ttlMs: 1.5 })).rejects.toThrow(OptionError);
    await expect(cache.set('k', 1, { ttlMs: 0 })).rejects.toThrow(OptionError);
    await expect(cache.set('k', 1, { ttl: 60 } as never)).rejects.toThrow(/did you mean "ttlMs"/);
    await expect(cache.wrap('k', () => 1, { ttlMs: -1 })).rejects.toThrow(OptionError);
    // A positional ttl is refused, never taken for milliseconds.
    await expect(cache.set('k', 1, 60 as never)).rejects.toThrow(/\{ ttlMs: 60_000 \}/);
    await expect(cache.wrap('k', 60 as never, (() => 1) as never)).rejects.toThrow(
      /producer must be a function/,
    );
    await expect(cache.set('k', { n: 1n })).rejects.toThrow(OptionError);
  });
});

describe('wrap (cache-aside)', () => {
  it('runs one producer per key for concurrent callers, then serves the cached value', async () => {
    const { cache } = memoryCache();
    let calls = 0;
    const producer = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return { n: calls };
    };
    const results = await Promise.all(Array.from({ length: 25 }, () => cache.wrap('shared', producer)));
    expect(calls).toBe(1);
    expect(results.every((r) => r.n === 1)).toBe(true);
    expect(await cache.wrap('shared', producer)).toEqual({ n: 1 });
    expect(calls).toBe(1);
    await cache.wrap('other', producer);
    expect(calls).toBe(2);
  });

  it('lets every waiter see a producer failure, caches nothing, and retries next time', async () => {
    const { cache } = memoryCache();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('db down');
    };
    const settled = await Promise.allSettled([cache.wrap('f', failing), cache.wrap('f', failing)]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    expect(await cache.wrap('f', () => 'ok')).toBe('ok');
  });

  it('does not cache a producer result that a del() superseded', async () => {
    const { cache } = memoryCache();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const pending = cache.wrap('p', async () => {
      await gate;
      return 'stale';
    });
    await new Promise((r) => setTimeout(r, 5));
    await cache.del('p');
    release();
    expect(await pending).toBe('stale');
    expect(await cache.get('p')).toBeUndefined();
  });

  it('does not cache undefined', async () => {
    const { cache } = memoryCache();
    expect(await cache.wrap('u', () => undefined)).toBeUndefined();
    expect(await cache.get('u')).toBeUndefined();
  });
});
