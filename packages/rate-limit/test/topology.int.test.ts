import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  captureLogger,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisSentinelHandle,
  redisCli,
  startCluster,
  startSentinel,
  waitFor,
} from '@sec/testing';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { loginLimiter, rateLimit } from '../src/index.js';
import { appWith, type Listening, listen, loginApp } from './helpers.js';

// >= 32 characters, so the production rules accept it.
const PASSWORD = 'ratelimit-Topology-Password-0123456789-abc';
const log = captureLogger();

let cluster: RedisClusterHandle;
let sentinel: RedisSentinelHandle;
const guards: RedisGuard[] = [];
const servers: Listening[] = [];

beforeAll(async () => {
  const [c, s] = await Promise.allSettled([
    startCluster({ masters: 3, password: PASSWORD }),
    startSentinel({ password: PASSWORD }),
  ]);
  if (c.status === 'fulfilled') cluster = c.value;
  if (s.status === 'fulfilled') sentinel = s.value;
  if (c.status === 'rejected') throw c.reason;
  if (s.status === 'rejected') throw s.reason;
}, 120_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(guards.map((g) => g.close()));
  await Promise.all([cluster?.stop(), sentinel?.stop()]);
});

type Topology = 'cluster' | 'sentinel';

/** A guard as an operator configures it in production, relaxed only for plaintext loopback. */
async function guardFor(topology: Topology): Promise<RedisGuard> {
  const guard = createRedisGuard({
    env: { ...PRODUCTION_ON_LOOPBACK, ...(topology === 'cluster' ? cluster.env : sentinel.env) },
    logger: log.logger,
  });
  guards.push(guard);
  await guard.ready(10_000);
  return guard;
}

async function serve(app: Express): Promise<string> {
  const listening = await listen(app);
  servers.push(listening);
  return listening.url;
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

async function answer(response: Promise<Response>): Promise<Answer> {
  const res = await response;
  const text = await res.text();
  // 200s from appWith() answer plain "ok"; refusals are JSON.
  const body: unknown = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
}

const attempt = (url: string, username: string, password: string) =>
  fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });

describe.each(['cluster', 'sentinel'] as const)('rate limiting on Redis %s, production', (topology) => {
  let guard: RedisGuard;

  beforeAll(async () => {
    guard = await guardFor(topology);
  });

  it('answers the N+1th request with 429 and the RateLimit headers', async () => {
    expect(guard.failClosed).toBe(true);
    const url = await serve(appWith(rateLimit({ redis: guard, name: 'api', points: 5, windowMs: 60_000 })));
    for (let remaining = 4; remaining >= 0; remaining--) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"api";q=5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"api";r=${remaining};t=(60|59)$`));
    }
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(58);
    expect(limited.headers.get('ratelimit')).toMatch(/^"api";r=0;t=\d+$/);
    expect(await limited.json()).toMatchObject({ error: 'too_many_requests', limiter: 'api' });
    const ttl = await guard.execute((c) => c.pttl('sec:rl:api:{api:ip:127.0.0.1}'));
    expect(ttl).toBeGreaterThan(50_000);
  });

  it('decides two windows in one script on one slot; refused requests count in neither window', async () => {
    const limiter = rateLimit({
      redis: guard,
      name: 'windows',
      windows: [
        { points: 3, windowMs: 60_000 },
        { points: 10, windowMs: 3_600_000 },
      ],
    });
    for (let i = 0; i < 3; i++) expect((await limiter.consumeKey('zoe')).outcome).toBe('allowed');
    expect(await limiter.consumeKey('zoe')).toMatchObject({
      outcome: 'limited',
      info: { limiter: 'windows.60s' },
    });
    const counts = await guard.execute((c) =>
      Promise.all([c.get('sec:rl:windows:{windows:zoe}:w60'), c.get('sec:rl:windows:{windows:zoe}:w3600')]),
    );
    expect(counts).toEqual(['3', '3']);
    for (let i = 0; i < 20; i++) expect((await limiter.consumeKey('zoe')).outcome).toBe('limited');
    expect(await guard.execute((c) => c.get('sec:rl:windows:{windows:zoe}:w3600'))).toBe('3');
  });

  it('keeps two named limiters on one route apart: each counts and refuses on its own', async () => {
    const alpha = rateLimit({ redis: guard, name: 'alpha', points: 2, windowMs: 60_000 });
    const beta = rateLimit({ redis: guard, name: 'beta', points: 3, windowMs: 60_000 });
    const url = await serve(appWith(alpha, beta));
    for (const remaining of [1, 0]) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"alpha";q=2;w=60, "beta";q=3;w=60');
      expect(res.headers.get('ratelimit')).toMatch(
        new RegExp(`^"alpha";r=${remaining};t=\\d+, "beta";r=${remaining + 1};t=\\d+$`),
      );
    }
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ limiter: 'alpha' });
    // alpha refused before beta counted: beta still has its last point, on its own key.
    expect(await beta.consumeKey('ip:127.0.0.1')).toMatchObject({
      outcome: 'allowed',
      info: { remaining: 0 },
    });
    expect(await beta.consumeKey('ip:127.0.0.1')).toMatchObject({ outcome: 'limited' });
    await alpha.reset('ip:127.0.0.1');
    expect(await alpha.consumeKey('ip:127.0.0.1')).toMatchObject({
      outcome: 'allowed',
      info: { remaining: 1 },
    });
  });

  it('blocks an account after consecutive failures, per client, and forgets them on success', async () => {
    const url = await serve(
      loginApp(loginLimiter({ redis: guard, name: 'login', maxConsecutiveFailsByUsernameAndIp: 3 })),
    );
    expect((await attempt(url, 'bob', 'wrong')).status).toBe(401);
    expect((await attempt(url, 'bob', 'right')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await attempt(url, 'alice', 'wrong')).status).toBe(401);
    const blocked = await attempt(url, 'alice', 'wrong');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(3_500);
    // Even the right password is refused while blocked; bob's success cleared his one failure.
    expect((await attempt(url, 'alice', 'right')).status).toBe(429);
    for (let i = 0; i < 2; i++) expect((await attempt(url, 'bob', 'wrong')).status).toBe(401);
    expect((await attempt(url, 'bob', 'right')).status).toBe(200);
  });
});

describe('Redis Cluster: counters of many clients', () => {
  it('spread over the masters, one key per client, with the block applied', async () => {
    const guard = await guardFor('cluster');
    const limiter = rateLimit({
      redis: guard,
      name: 'spread',
      points: 2,
      windowMs: 60_000,
      blockDurationMs: 120_000,
    });
    const keys = Array.from({ length: 30 }, (_, i) => `ip:198.51.100.${i}`);
    for (const key of keys) {
      expect((await limiter.consumeKey(key)).outcome).toBe('allowed');
      expect((await limiter.consumeKey(key)).outcome).toBe('allowed');
      const third = await limiter.consumeKey(key);
      expect(third.outcome).toBe('limited');
      expect(third.outcome === 'limited' && third.retryAfterSeconds).toBeGreaterThan(110);
    }
    const perNode = await Promise.all(
      cluster.nodes.map(
        async (node) =>
          (await redisCli(node, '--scan', '--pattern', 'sec:rl:spread:*')).split('\n').filter(Boolean).length,
      ),
    );
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(keys.length);
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
  });
});

describe('Sentinel failover: limiting resumes without restart', () => {
  it('503 during the gap (never 500, never an uncounted 200), then the count continues', async () => {
    const guard = await guardFor('sentinel');
    const client = guard.client!;
    const points = 10;
    const url = await serve(appWith(rateLimit({ redis: guard, name: 'failover', points, windowMs: 60_000 })));
    const loginUrl = await serve(
      loginApp(loginLimiter({ redis: guard, name: 'failover-login', maxConsecutiveFailsByUsernameAndIp: 2 })),
    );
    for (let i = 0; i < 3; i++) expect((await fetch(url)).status).toBe(200);
    expect((await attempt(loginUrl, 'mallory', 'wrong')).status).toBe(401);
    expect((await attempt(loginUrl, 'mallory', 'wrong')).status).toBe(401);
    expect((await attempt(loginUrl, 'mallory', 'wrong')).status).toBe(429);
    // Replication is asynchronous: counts the replica never received die with the master. WAIT
    // makes this test about recovery, not about that window.
    expect(await guard.execute((c) => (c as Redis).wait(1, 2_000))).toBe(1);

    await sentinel.killMaster();
    await waitFor('the client to notice', async () => client.status !== 'ready', 5_000);
    let failedOver = false;
    const failover = sentinel.waitForFailover().finally(() => {
      failedOver = true;
    });
    const gap: { api: Answer; login: Answer }[] = [];
    while (!failedOver) {
      gap.push({ api: await answer(fetch(url)), login: await answer(attempt(loginUrl, 'mallory', 'right')) });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await failover).port).toBe(sentinel.replica.port);

    const statuses = gap.map((s) => `${s.api.status}/${s.login.status}`);
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses[0]).toBe('503/503');
    expect(statuses.filter((s) => s === '503/503').length).toBeGreaterThanOrEqual(3);
    // The promoted replica may answer the last samples: a 200 is then a counted request, and the
    // login block is back in force (429). Anything else (500, a 429 for the API) is a bug.
    expect(statuses.filter((s) => !/^(200|503)\/(429|503)$/.test(s))).toEqual([]);
    for (const res of gap.flatMap((s) => [s.api, s.login]).filter((r) => r.status === 503)) {
      expect(Number(res.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(res.body).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
    }

    await waitFor('the guard to recover', async () => guard.isAvailable());
    expect(guard.client).toBe(client);
    // Every 200 during the gap was counted, so the count goes on from 3 + those, and never restarts
    // from zero: exactly the points left pass, then 429.
    const countedInGap = statuses.filter((s) => s.startsWith('200')).length;
    const expected = Array.from({ length: points - 3 - countedInGap }, (_, i) => {
      return `200 "failover";r=${points - 3 - countedInGap - 1 - i}`;
    });
    const after: string[] = [];
    for (let i = 0; i <= expected.length; i++) {
      const res = await fetch(url);
      after.push(`${res.status} ${res.headers.get('ratelimit')?.replace(/;t=\d+$/, '')}`);
    }
    // The gap's statuses ride along so that a failure shows what the count started from.
    expect({ gap: statuses, after }).toEqual({ gap: statuses, after: [...expected, '429 "failover";r=0'] });
    // The brute-force block survived the failover; other users log in.
    expect((await attempt(loginUrl, 'mallory', 'right')).status).toBe(429);
    expect((await attempt(loginUrl, 'trent', 'right')).status).toBe(200);
    expect(log.text()).not.toContain(PASSWORD);
  }, 60_000);
});
