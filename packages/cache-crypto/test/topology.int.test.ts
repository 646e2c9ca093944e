import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard, RedisUnavailableError } from '@sec/redis-guard';
import {
  type CapturedLogger,
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  type RedisServer,
  redisCli,
  startCluster,
  startSentinel,
  waitFor,
} from '@sec/testing';
import express from 'express';
import request from 'supertest';
import { cacheResponse, createEncryptedCache, type EncryptedCache, Fernet } from '../src/index.js';

// >= 32 characters, so the production rules accept it.
const PASSWORD = 'cache-topology-Password-0123456789-abcdef';
const OLD = Fernet.generateKey();
const NEW = Fernet.generateKey();

interface Topology {
  readonly guard: RedisGuard;
  readonly log: CapturedLogger;
  /** The servers that hold the data right now (every Cluster master; the Sentinel master). */
  readonly masters: () => readonly RedisServer[];
}

let cluster: RedisClusterHandle;
let sentinel: RedisSentinelHandle;
const topologies = new Map<string, Topology>();

function topology(env: Readonly<Record<string, string>>, masters: () => readonly RedisServer[]): Topology {
  const log = captureLogger();
  const guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...env }, logger: log.logger });
  return { guard, log, masters };
}

const keysOn = async (server: RedisServer, pattern: string) =>
  (await redisCli(server, '--scan', '--pattern', pattern)).split('\n').filter(Boolean);
const scanCalls = async (server: RedisServer) =>
  Number(/cmdstat_scan:calls=(\d+)/.exec(await redisCli(server, 'INFO', 'commandstats'))?.[1] ?? 0);
const raw = (guard: RedisGuard) => ({
  get: (key: string) => guard.execute((c) => c.get(key)),
  set: (key: string, value: string) => guard.execute((c) => c.set(key, value, 'EX', 600)),
  pttl: (key: string) => guard.execute((c) => c.pttl(key)),
});

beforeAll(async () => {
  [cluster, sentinel] = await Promise.all([
    startCluster({ masters: 3, password: PASSWORD }),
    startSentinel({ password: PASSWORD }),
  ]);
  topologies.set(
    'Redis Cluster',
    topology(cluster.env, () => cluster.nodes),
  );
  topologies.set(
    'Redis Sentinel',
    topology(sentinel.env, () => [sentinel.master]),
  );
  await Promise.all([...topologies.values()].map((t) => t.guard.ready(10_000)));
}, 90_000);
afterAll(async () => {
  await Promise.all([...topologies.values()].map((t) => t.guard.close()));
  await Promise.all([cluster?.stop(), sentinel?.stop()]);
});

describe.each(['Redis Cluster', 'Redis Sentinel'])('%s in production', (name) => {
  let t: Topology;
  const cacheOf = (namespace: string, keys = [NEW]) =>
    createEncryptedCache({ redis: t.guard, keys, namespace, logger: t.log.logger });
  beforeAll(() => {
    t = topologies.get(name)!;
  });

  it('sets, gets, deletes and wraps JSON values, every entry with its TTL', async () => {
    expect(t.guard.failClosed).toBe(true);
    const cache = cacheOf('crud');
    expect(await cache.set('user:1', { name: 'Ada', tags: ['x'] }, { ttlMs: 120_000 })).toBe(true);
    expect(await cache.set('zero', 0)).toBe(true);
    expect(await cache.get('user:1')).toEqual({ name: 'Ada', tags: ['x'] });
    expect(await cache.get('zero')).toBe(0);
    expect(await cache.get('absent')).toBeUndefined();
    const pttl = await raw(t.guard).pttl('sec:cache:crud:user:1');
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);

    expect(await cache.del('user:1')).toBe(true);
    expect(await cache.del('user:1')).toBe(false);
    expect(await cache.get('user:1')).toBeUndefined();

    let calls = 0;
    const producer = async () => {
      calls++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { produced: calls };
    };
    const concurrent = await Promise.all([1, 2, 3].map(() => cache.wrap('w', producer)));
    expect(concurrent).toEqual([{ produced: 1 }, { produced: 1 }, { produced: 1 }]);
    expect(await cache.wrap('w', producer)).toEqual({ produced: 1 });
    expect(calls).toBe(1);
  });

  it('stores entries on the current master(s), spread over all three on the Cluster', async () => {
    const cache = cacheOf('spread');
    const count = 60;
    await Promise.all(Array.from({ length: count }, (_, i) => cache.set(`k:${i}`, i)));
    const perMaster = await Promise.all(t.masters().map((m) => keysOn(m, 'sec:cache:spread:*')));
    expect(perMaster).toHaveLength(name === 'Redis Cluster' ? 3 : 1);
    for (const keys of perMaster) expect(keys.length).toBeGreaterThan(0);
    expect(perMaster.flat().sort()).toEqual(
      Array.from({ length: count }, (_, i) => `sec:cache:spread:k:${i}`).sort(),
    );
    const values = await Promise.all(Array.from({ length: count }, (_, i) => cache.get(`k:${i}`)));
    expect(values).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('cache.rotate() SCANs every master and re-encrypts every entry, keeping timestamps and TTLs', async () => {
    const count = 150;
    const old = cacheOf('rot', [OLD]);
    await Promise.all(
      Array.from({ length: count }, (_, i) => old.set(`k:${i}`, { i }, { ttlMs: (300 + i) * 1000 })),
    );
    const before = new Map<string, { ts: bigint; pttl: number }>();
    for (let i = 0; i < count; i++) {
      const key = `sec:cache:rot:k:${i}`;
      const token = (await raw(t.guard).get(key))!;
      before.set(key, { ts: new Fernet(OLD).extractTimestamp(token), pttl: await raw(t.guard).pttl(key) });
    }
    const scansBefore = await Promise.all(t.masters().map(scanCalls));

    const cache = cacheOf('rot', [NEW, OLD]);
    const result = await cache.rotate({ batchSize: 40 });
    expect(result).toMatchObject({ complete: true, cursor: undefined, rotated: count, invalid: 0 });
    const scansAfter = await Promise.all(t.masters().map(scanCalls));
    for (const [i, calls] of scansAfter.entries()) expect(calls).toBeGreaterThan(scansBefore[i]!);

    for (const [key, { ts, pttl }] of before) {
      const token = (await raw(t.guard).get(key))!;
      expect(new Fernet(NEW).extractTimestamp(token)).toBe(ts);
      const after = await raw(t.guard).pttl(key);
      expect(after).toBeLessThanOrEqual(pttl);
      expect(after).toBeGreaterThan(pttl - 10_000);
    }
    const newOnly = cacheOf('rot', [NEW]);
    const values = await Promise.all(Array.from({ length: count }, (_, i) => newOnly.get(`k:${i}`)));
    expect(values).toEqual(Array.from({ length: count }, (_, i) => ({ i })));
    expect(await cache.rotate()).toMatchObject({ rotated: 0, current: count, complete: true });
  });

  it('cache.rotate() stops on a signal and resumes from its cursor', async () => {
    const old = cacheOf('resume', [OLD]);
    await Promise.all(Array.from({ length: 120 }, (_, i) => old.set(`k:${i}`, i)));
    const cache = cacheOf('resume', [NEW, OLD]);
    const controller = new AbortController();
    const first = await cache.rotate({
      batchSize: 30,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(first.complete).toBe(false);
    // A Cluster cursor names the master to resume on.
    expect(first.cursor).toMatch(name === 'Redis Cluster' ? /^127\.0\.0\.1:\d+#\d+$/ : /^\d+$/);
    const second = await cache.rotate({ batchSize: 30, cursor: first.cursor! });
    expect(second.complete).toBe(true);
    expect(first.rotated + second.rotated).toBe(120);
    const newOnly = cacheOf('resume', [NEW]);
    expect(await newOnly.get('k:77')).toBe(77);
  });

  it('cacheResponse answers MISS, then HIT from the encrypted entry', async () => {
    const cache = cacheOf('http');
    let calls = 0;
    const app = express().get('/products', cacheResponse({ cache, ttlMs: 60_000 }), (_req, res) => {
      res.json({ products: ['tea'], call: ++calls });
    });
    const miss = await request(app).get('/products?page=1');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.body).toEqual({ products: ['tea'], call: 1 });
    // The entry is written after the response is sent; its key is the hashed URL.
    const key = `sec:cache:http:res:${createHash('sha256').update('/products?page=1').digest('base64url')}`;
    await waitFor('the response entry', async () => (await raw(t.guard).get(key)) !== null, 3_000);
    const hit = await request(app).get('/products?page=1');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ products: ['tea'], call: 1 });
    expect(calls).toBe(1);
  });

  it('treats a tampered, moved or foreign entry as a miss and logs a fingerprint only', async () => {
    const cache = cacheOf('tamper');
    await cache.set('victim', { role: 'user' });
    await cache.set('admin', { role: 'admin' });
    const victim = (await raw(t.guard).get('sec:cache:tamper:victim'))!;
    const flipped = `${victim.slice(0, 20)}${victim[20] === 'A' ? 'B' : 'A'}${victim.slice(21)}`;
    await raw(t.guard).set('sec:cache:tamper:flipped', flipped);
    await raw(t.guard).set('sec:cache:tamper:victim', (await raw(t.guard).get('sec:cache:tamper:admin'))!);
    await raw(t.guard).set('sec:cache:tamper:garbage', 'not a token');
    await raw(t.guard).set('sec:cache:tamper:foreign', new Fernet(Fernet.generateKey()).encrypt('{}'));
    await raw(t.guard).set('sec:cache:tamper:bare', new Fernet(NEW).encrypt('{"role":"admin"}'));
    const replayed = JSON.stringify({ key: 'sec:cache:tamper:replayed', ttl: 10, value: { role: 'admin' } });
    const anHourAgo = Math.floor(Date.now() / 1000) - 3_600;
    await raw(t.guard).set('sec:cache:tamper:replayed', new Fernet(NEW).encryptAtTime(replayed, anHourAgo));

    const refused = ['flipped', 'victim', 'garbage', 'foreign', 'bare', 'replayed'];
    for (const key of refused) expect(await cache.get(key)).toBeUndefined();
    expect(await cache.get('admin')).toEqual({ role: 'admin' });
    const reasons = t.log.records
      .map((r) => r.obj as { event?: string; namespace?: string; reason?: string })
      .filter((o) => o.event === 'cache.tampered' && o.namespace === 'tamper')
      .map((o) => o.reason);
    expect(reasons.sort()).toEqual([
      'malformed',
      'stale',
      'undecryptable',
      'undecryptable',
      'undecryptable',
      'wrong-key',
    ]);
    expect(t.log.text()).not.toContain('victim');
    expect(t.log.text()).not.toContain(victim);
    expect(t.log.text()).not.toContain(PASSWORD);
  });
});

describe('Redis Sentinel failover: the same cache, no restart', () => {
  let t: Topology;
  let cache: EncryptedCache;
  let calls = 0;
  let app: express.Express;
  beforeAll(() => {
    t = topologies.get('Redis Sentinel')!;
    cache = createEncryptedCache({ redis: t.guard, keys: NEW, namespace: 'failover', logger: t.log.logger });
    app = express().get('/report', cacheResponse({ cache, ttlMs: 60_000 }), (_req, res) => {
      res.json({ call: ++calls });
    });
  });
  const events = (event: string) =>
    t.log.records.filter((r) => (r.obj as { event?: string; namespace?: string }).event === event).length;
  const timed = async <T>(run: () => Promise<T>) => {
    const started = performance.now();
    const result = await run();
    return { result, ms: performance.now() - started };
  };

  it('bypasses the cache during the gap (del rejects), then reads old entries and writes new ones', async () => {
    for (let i = 0; i < 20; i++) expect(await cache.set(`before:${i}`, { i })).toBe(true);
    // Replication is asynchronous: make sure the replica has the entries before its master dies.
    expect(await t.guard.execute((c) => c.call('WAIT', '1', '2000'))).toBeGreaterThanOrEqual(1);
    const client = t.guard.client!;

    await sentinel.killMaster();
    await waitFor('the client to notice', async () => client.status !== 'ready', 5_000);
    const get = await timed(() => cache.get('before:1'));
    expect(get.result).toBeUndefined();
    let produced = 0;
    const wrap = await timed(() => cache.wrap('before:2', () => ({ fresh: ++produced })));
    expect(wrap.result).toEqual({ fresh: 1 });
    expect(await cache.set('gap', 1)).toBe(false);
    const del = await timed(() => cache.del('before:3').catch((e: unknown) => e));
    expect(del.result).toBeInstanceOf(RedisUnavailableError);
    for (const call of [get, wrap, del]) expect(call.ms).toBeLessThan(1_000);
    const page = await request(app).get('/report');
    expect(page.status).toBe(200);
    expect(page.headers['x-cache']).toBe('MISS');
    expect(client.status).not.toBe('ready');
    expect(events('cache.bypass')).toBe(1);

    const promoted = await sentinel.waitForFailover();
    expect(promoted.port).toBe(sentinel.replica.port);
    await waitFor('the guard to recover', async () => t.guard.isAvailable(), 20_000);
    expect(t.guard.client).toBe(client);
    const before = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.get(`before:${i}`)));
    expect(before).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    expect(events('cache.recovered')).toBe(1);
    expect(await cache.set('after', 'new master')).toBe(true);
    expect(await cache.get('after')).toBe('new master');
    expect(await keysOn(sentinel.replica, 'sec:cache:failover:after')).toEqual(['sec:cache:failover:after']);
    expect(await cache.del('before:3')).toBe(true);
    expect(await cache.get('before:3')).toBeUndefined();
    expect(t.log.text()).not.toContain(PASSWORD);
  }, 60_000);
});
