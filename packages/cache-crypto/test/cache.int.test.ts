import { spawnSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import { captureLogger, type RedisServer, startRedis, waitFor } from '@sec/testing';
import { Redis } from 'ioredis';
import { createEncryptedCache, type EncryptedCacheOptions, Fernet, MultiFernet } from '../src/index.js';

const KEY = Fernet.generateKey();
const PASSWORD = 'pw-cache-crypto-integration-0123456789abcdef';
const events = (log: ReturnType<typeof captureLogger>, event: string) =>
  log.records.filter((r) => (r.obj as { event?: string }).event === event);

describe('EncryptedCache on a real Redis', () => {
  let server: RedisServer;
  let raw: Redis;
  const guards: RedisGuard[] = [];
  const guardFor = (target: RedisServer, log = captureLogger()) => {
    const guard = createRedisGuard({
      config: { url: target.url, password: target.password },
      environment: 'test',
      logger: log.logger,
      breaker: { failureThreshold: 2, openDurationMs: 500, probeIntervalMs: 100 },
    });
    guards.push(guard);
    return guard;
  };
  const newCache = async (
    namespace: string,
    keys: string | string[] = KEY,
    extra: Partial<EncryptedCacheOptions> = {},
  ) => {
    const log = captureLogger();
    const guard = guardFor(server, log);
    await guard.ready();
    return {
      cache: createEncryptedCache({
        redis: guard,
        keys,
        namespace,
        defaultTtlMs: 120_000,
        logger: log.logger,
        ...extra,
      }),
      log,
      guard,
    };
  };

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
    raw = new Redis({ port: server.port, password: PASSWORD });
  });
  afterAll(async () => {
    raw?.disconnect();
    await Promise.all(guards.map((g) => g.close()));
    await server?.stop();
  });

  it('stores a Fernet token, never the plaintext, with the ttl as the Redis TTL', async () => {
    const { cache } = await newCache('people');
    const value = { email: 'ada@example.com', appointments: [1, 2] };
    await cache.set('user:7', value, { ttlMs: 90_000 });
    const stored = (await raw.get('sec:cache:people:user:7'))!;
    expect(stored).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
    expect(stored).not.toContain('ada@example.com');
    // The envelope binds the entry to its key and carries its ttl in whole seconds.
    expect(JSON.parse(new Fernet(KEY).decrypt(stored).toString())).toEqual({
      key: 'sec:cache:people:user:7',
      ttl: 90,
      value,
    });
    const pttl = await raw.pttl('sec:cache:people:user:7');
    expect(pttl).toBeGreaterThan(85_000);
    expect(pttl).toBeLessThanOrEqual(90_000);
    expect(await cache.get('user:7')).toEqual(value);
    await cache.set('default-ttl', 1);
    expect(await raw.pttl('sec:cache:people:default-ttl')).toBeGreaterThan(115_000);
  });

  it('keeps a ttl under a second exact in Redis (PX), and the envelope bound on the safe side', async () => {
    const { cache } = await newCache('short');
    await cache.set('k', 'v', { ttlMs: 1_500 });
    const pttl = await raw.pttl('sec:cache:short:k');
    expect(pttl).toBeGreaterThan(1_000);
    expect(pttl).toBeLessThanOrEqual(1_500);
    const envelope = JSON.parse(new Fernet(KEY).decrypt((await raw.get('sec:cache:short:k'))!).toString());
    expect(envelope.ttl).toBe(2);
    // Under a second: neither rounded up to a second nor down to "no expiry".
    await cache.set('tiny', 'v', { ttlMs: 300 });
    expect(await raw.pttl('sec:cache:short:tiny')).toBeLessThanOrEqual(300);
    await waitFor('the 300 ms entry to expire', async () => (await raw.exists('sec:cache:short:tiny')) === 0);
  });

  it('compresses only above compressAbove, and still round-trips', async () => {
    const { cache } = await newCache('zip', KEY, { compressAbove: 100 });
    const big = { text: 'a'.repeat(5000) };
    await cache.set('big', big);
    await cache.set('small', { t: 1 });
    const bigPlain = new Fernet(KEY).decrypt((await raw.get('sec:cache:zip:big'))!);
    expect(bigPlain[0]).toBe(0x78);
    expect(JSON.parse(inflateSync(bigPlain).toString()).value).toEqual(big);
    expect(new Fernet(KEY).decrypt((await raw.get('sec:cache:zip:small'))!)[0]).toBe('{'.charCodeAt(0));
    expect(await cache.get('big')).toEqual(big);
  });

  it('does not compress by default', async () => {
    const { cache } = await newCache('plainzip');
    await cache.set('big', { text: 'a'.repeat(5000) });
    expect(new Fernet(KEY).decrypt((await raw.get('sec:cache:plainzip:big'))!)[0]).toBe('{'.charCodeAt(0));
  });

  it('reads entries written under an older key once the new key is added first', async () => {
    const oldKey = Fernet.generateKey();
    const { cache: before } = await newCache('older', oldKey);
    await before.set('k', 'v');
    const { cache: after } = await newCache('older', [KEY, oldKey]);
    expect(await after.get('k')).toBe('v');
    expect(new MultiFernet([oldKey]).decrypt((await raw.get('sec:cache:older:k'))!)).toBeDefined();
  });

  it('deletes entries', async () => {
    const { cache } = await newCache('del');
    await cache.set('k', 'v');
    expect(await cache.del('k')).toBe(true);
    expect(await raw.exists('sec:cache:del:k')).toBe(0);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('wrap runs one producer for 30 concurrent callers and stores its value once', async () => {
    const { cache } = await newCache('wrap');
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        cache.wrap('report', async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 50));
          return { total: 42 };
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(results).toEqual(Array.from({ length: 30 }, () => ({ total: 42 })));
    expect(await raw.exists('sec:cache:wrap:report')).toBe(1);
    expect(await cache.wrap('report', () => ({ total: 0 }))).toEqual({ total: 42 });
    expect(calls).toBe(1);
  });

  it('treats a tampered entry as a miss and logs it once, without the key name or token', async () => {
    const { cache, log } = await newCache('tamper');
    await cache.set('user:alice@example.com', { secret: 1 });
    const token = (await raw.get('sec:cache:tamper:user:alice@example.com'))!;
    const tampered = `${token.slice(0, 60)}${token[60] === 'A' ? 'B' : 'A'}${token.slice(61)}`;
    await raw.set('sec:cache:tamper:user:alice@example.com', tampered, 'EX', 60);
    expect(await cache.get('user:alice@example.com')).toBeUndefined();
    expect(await cache.get('user:alice@example.com')).toBeUndefined();
    const lines = events(log, 'cache.tampered');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({ namespace: 'tamper', reason: 'undecryptable' });
    expect(log.text()).not.toContain('alice');
    expect(log.text()).not.toContain(tampered.slice(20, 60));
    // wrap treats it as a miss too, and replaces it with a fresh value.
    expect(await cache.wrap('user:alice@example.com', () => ({ fresh: true }))).toEqual({ fresh: true });
    expect(await cache.get('user:alice@example.com')).toEqual({ fresh: true });
  });

  it("refuses an entry moved from another key (authentic, but not this key's)", async () => {
    const { cache, log } = await newCache('swap');
    await cache.set('user:1', { name: 'one' });
    await cache.set('user:2', { name: 'two' });
    await raw.set('sec:cache:swap:user:1', (await raw.get('sec:cache:swap:user:2'))!, 'EX', 60);
    expect(await cache.get('user:1')).toBeUndefined();
    expect(events(log, 'cache.tampered')[0]?.obj).toMatchObject({ reason: 'wrong-key' });
  });

  it('refuses plain text, garbage and entries under an unknown key', async () => {
    const { cache, log } = await newCache('foreign');
    await raw.set('sec:cache:foreign:plain', '{"value":1}');
    await raw.set(
      'sec:cache:foreign:other',
      new Fernet(Fernet.generateKey()).encrypt('{"key":"sec:cache:foreign:other","ttl":60,"value":1}'),
    );
    await raw.hset('sec:cache:foreign:hash', 'f', 'v');
    expect(await cache.get('plain')).toBeUndefined();
    expect(await cache.get('other')).toBeUndefined();
    expect(await cache.get('hash')).toBeUndefined();
    expect(events(log, 'cache.tampered')).toHaveLength(2);
    expect(events(log, 'cache.store_error')).toHaveLength(1);
  });

  it('refuses a replayed entry older than its own ttl', async () => {
    const { cache, log } = await newCache('replay');
    const old = new Fernet(KEY).encryptAtTime(
      JSON.stringify({ key: 'sec:cache:replay:k', ttl: 10, value: 'old' }),
      Math.floor(Date.now() / 1000) - 200,
    );
    await raw.set('sec:cache:replay:k', old, 'EX', 60);
    expect(await cache.get('k')).toBeUndefined();
    expect(events(log, 'cache.tampered')[0]?.obj).toMatchObject({ reason: 'stale' });
  });

  it('reads an entry a Python service wrote in the documented format', async () => {
    if (spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' }).status !== 0) {
      process.stderr.write(
        '\n[notice] python3 cryptography unavailable: skipping the Python cache-entry test.\n\n',
      );
      return;
    }
    const script =
      'import json, sys\nfrom cryptography.fernet import Fernet\n' +
      'entry = {"key": "sec:cache:py:user:9", "ttl": 60, "value": {"name": "Grace"}}\n' +
      'print(Fernet(sys.argv[1]).encrypt(json.dumps(entry).encode()).decode())';
    const token = spawnSync('python3', ['-c', script, KEY], { encoding: 'utf8' }).stdout.trim();
    await raw.set('sec:cache:py:user:9', token, 'EX', 60);
    const { cache } = await newCache('py');
    expect(await cache.get('user:9')).toEqual({ name: 'Grace' });
    await cache.set('user:10', { name: 'Linus' });
    const read = spawnSync(
      'python3',
      [
        '-c',
        'import json, sys\nfrom cryptography.fernet import Fernet\nprint(json.loads(Fernet(sys.argv[1]).decrypt(sys.argv[2], ttl=60))["value"]["name"])',
        KEY,
        (await raw.get('sec:cache:py:user:10'))!,
      ],
      { encoding: 'utf8' },
    );
    expect(read.stdout.trim()).toBe('Linus');
  });
});

describe('EncryptedCache while Redis is down', () => {
  it('bypasses: get misses, wrap calls the producer, set is skipped, del rejects; logged once per outage', async () => {
    const server = await startRedis();
    const log = captureLogger();
    const guard = createRedisGuard({
      config: { url: server.url },
      environment: 'test',
      logger: log.logger,
      commandTimeoutMs: 200,
      breaker: { failureThreshold: 2, openDurationMs: 300, probeIntervalMs: 100 },
    });
    try {
      await guard.ready();
      const cache = createEncryptedCache({ redis: guard, keys: KEY, namespace: 'down', logger: log.logger });
      await cache.set('k', 'cached');
      await server.kill();
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.set('k', 'new')).toBe(false);
      let calls = 0;
      expect(await cache.wrap('k', () => `produced ${++calls}`)).toBe('produced 1');
      expect(await cache.wrap('k', () => `produced ${++calls}`)).toBe('produced 2');
      await expect(cache.del('k')).rejects.toBeInstanceOf(RedisUnavailableError);
      expect(events(log, 'cache.bypass')).toHaveLength(1);

      await server.restart();
      await guard.ready(10_000);
      await waitFor('the cache to write again', () => cache.set('k', 'back'), 10_000);
      expect(await cache.get('k')).toBe('back');
      expect(events(log, 'cache.recovered')).toHaveLength(1);
    } finally {
      await guard.close();
      await server.stop();
    }
  });
});

describe('EncryptedCache in production', () => {
  it('starts with a key from REDIS_ENCRYPTION_KEY and refuses to start without one', async () => {
    const server = await startRedis({ password: PASSWORD });
    const config = { url: server.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true };
    const log = captureLogger();
    const guard = createRedisGuard({ config, environment: 'production', logger: log.logger });
    try {
      expect(() => createEncryptedCache({ redis: guard, namespace: 'prod', env: {} })).toThrow(
        expect.objectContaining({ code: 'ERR_SEC_CACHE_KEY_MISSING' }),
      );
      const cache = createEncryptedCache({
        redis: guard,
        namespace: 'prod',
        env: { REDIS_ENCRYPTION_KEY: KEY },
      });
      await guard.ready();
      await cache.set('k', { v: 1 });
      expect(await cache.get('k')).toEqual({ v: 1 });
      expect(log.text()).not.toContain(KEY);
      expect(log.text()).not.toContain(PASSWORD);
    } finally {
      await guard.close();
      await server.stop();
    }
  });
});
