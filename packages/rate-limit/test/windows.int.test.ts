import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, countDuring, type RedisServer, refuseWrites, startRedis } from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import { type RateLimitOptions, rateLimit } from '../src/index.js';
import { type Listening, listen, waitUntil } from './helpers.js';

// Limiters with several windows and a per-request cost, on a real Redis: every window enforced,
// one script call per request however many windows, headers per the IETF draft, exact under a
// concurrent burst, and 503 + Retry-After when Redis refuses the counters' writes.

const PASSWORD = 'rate-limit-Windows-Password-0123456789ab';
let redis: RedisServer;
let admin: Redis;
const guards: RedisGuard[] = [];
const servers: Listening[] = [];

async function guardFor(server: RedisServer = redis): Promise<RedisGuard> {
  const guard = createRedisGuard({
    config: { url: server.url, password: PASSWORD, insecureAllowPlaintext: true, singleHost: true },
    environment: 'production',
    logger: captureLogger().logger,
  });
  await guard.ready();
  guards.push(guard);
  return guard;
}

/** An app that answers 200 behind the limiter; `x-client` picks the client key, `x-cost` the cost. */
async function serve(options: RateLimitOptions): Promise<Listening> {
  const app = express();
  app.use(
    rateLimit({
      keyBy: (req) => req.get('x-client'),
      cost: (req) => Number(req.get('x-cost') ?? 1),
      ...options,
    }),
  );
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  const listening = await listen(app);
  servers.push(listening);
  return listening;
}

const hit = (url: string, client: string, cost = 1) =>
  fetch(url, { headers: { 'x-client': client, 'x-cost': String(cost) } });

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  admin = new Redis({ port: redis.port, password: PASSWORD });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(guards.map((g) => g.close()));
  admin.disconnect();
  await redis.stop();
});

describe('a limiter with two windows', () => {
  it('enforces both: the short window refuses until it resets, then the long one refuses', async () => {
    const guard = await guardFor();
    const limiter = rateLimit({
      redis: guard,
      name: 'two',
      windows: [
        { points: 5, windowMs: 3_600_000 },
        { points: 3, windowMs: 1_000 },
      ],
    });
    expect(limiter.windows).toEqual([
      { points: 3, windowMs: 1_000 },
      { points: 5, windowMs: 3_600_000 },
    ]);
    for (let i = 0; i < 3; i++) expect((await limiter.consumeKey('alice')).outcome).toBe('allowed');
    const short = await limiter.consumeKey('alice');
    expect(short).toMatchObject({ outcome: 'limited', retryAfterSeconds: 1, info: { limiter: 'two.1s' } });
    // The refused request was counted in neither window.
    expect(await admin.get('sec:rl:two:{two:alice}:w3600')).toBe('3');

    await waitUntil('the one-second window to reset', async () => {
      return (await limiter.consumeKey('alice')).outcome === 'allowed';
    });
    expect((await limiter.consumeKey('alice')).outcome).toBe('allowed');
    const long = await limiter.consumeKey('alice');
    expect(long.outcome).toBe('limited');
    if (long.outcome !== 'limited') return;
    expect(long.info).toMatchObject({ limiter: 'two.3600s', remaining: 0 });
    expect(long.retryAfterSeconds).toBeGreaterThan(3_500);
    // Another client is untouched.
    expect((await limiter.consumeKey('bob')).outcome).toBe('allowed');
  });

  it('sends every policy in RateLimit-Policy and the one with the least remaining in RateLimit', async () => {
    const guard = await guardFor();
    const { url } = await serve({
      redis: guard,
      name: 'hdr',
      windows: [
        { points: 10, windowMs: 1_000 },
        { points: 12, windowMs: 60_000 },
      ],
    });
    const first = await hit(url, 'carol', 2);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"hdr.1s";q=10;w=1, "hdr.60s";q=12;w=60');
    // 8 left per second, 10 per minute: the second reports the least remaining.
    expect(first.headers.get('ratelimit')).toMatch(/^"hdr\.1s";r=8;t=1$/);
    const second = await hit(url, 'carol', 7);
    expect(second.status).toBe(200);
    expect(second.headers.get('ratelimit')).toMatch(/^"hdr\.(1s";r=1;t=1|60s";r=3;t=60)$/);
    // 3 left per minute and maybe 1 per second: whichever is lower is reported; a cost of 4 is
    // refused by the minute window at least.
    const refused = await hit(url, 'carol', 4);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit-policy')).toBe('"hdr.1s";q=10;w=1, "hdr.60s";q=12;w=60');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(58);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests', limiter: 'hdr' });
  });

  it('consumes the cost of each request: costs add up, a cost that does not fit is refused uncounted', async () => {
    const guard = await guardFor();
    const limiter = rateLimit({ redis: guard, name: 'cost', points: 10, windowMs: 60_000 });
    expect(await limiter.consumeKey('dave', 4)).toMatchObject({ outcome: 'allowed', info: { remaining: 6 } });
    expect(await limiter.consumeKey('dave', 7)).toMatchObject({ outcome: 'limited', info: { remaining: 6 } });
    expect(await limiter.consumeKey('dave', 6)).toMatchObject({ outcome: 'allowed', info: { remaining: 0 } });
    expect(await limiter.consumeKey('dave', 1)).toMatchObject({ outcome: 'limited' });
    expect(await admin.get('sec:rl:cost:{cost:dave}')).toBe('10');
  });

  it('sends one script call per request, with two windows as with one', async () => {
    const guard = await guardFor();
    const one = rateLimit({ redis: guard, name: 'rt-one', points: 100, windowMs: 60_000 });
    const two = rateLimit({
      redis: guard,
      name: 'rt-two',
      windows: [
        { points: 100, windowMs: 1_000 },
        { points: 1_000, windowMs: 3_600_000 },
      ],
    });
    // Warm both connections' script caches first: the first call on a connection sends EVAL.
    await one.consumeKey('warm');
    await two.consumeKey('warm');
    const forOne = await countDuring(redis, async () => {
      for (let i = 0; i < 20; i++) await one.consumeKey('erin');
    });
    const forTwo = await countDuring(redis, async () => {
      for (let i = 0; i < 20; i++) await two.consumeKey('erin');
    });
    expect(forOne.calls.evalsha).toBe(20);
    expect(forTwo.calls.evalsha).toBe(20);
    expect(forOne.reads).toBe(20);
    expect(forTwo.reads).toBe(20);
  });
});

describe('a concurrent burst', () => {
  it('never lets more requests through than any window allows, through two apps on their own connections', async () => {
    const [a, b] = [await guardFor(), await guardFor()];
    const windows = [
      { points: 20, windowMs: 60_000 },
      { points: 30, windowMs: 3_600_000 },
    ];
    // Slow async work in keyBy and cost, between the request's arrival and its count.
    const slow = async <T>(value: T) => {
      await sleep(Math.floor(Math.random() * 15));
      return value;
    };
    const options = (redis: RedisGuard): RateLimitOptions => ({
      redis,
      name: 'burst',
      windows,
      keyBy: (req) => slow(req.get('x-client')),
      cost: (req) => slow(Number(req.get('x-cost') ?? 1)),
    });
    const [first, second] = [await serve(options(a)), await serve(options(b))];
    const statuses = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        hit(i % 2 ? first.url : second.url, 'frank').then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(130);
    expect(await admin.get('sec:rl:burst:{burst:frank}:w60')).toBe('20');
    expect(await admin.get('sec:rl:burst:{burst:frank}:w3600')).toBe('20');

    // A burst of mixed costs never overdraws either window.
    const costs = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        hit(i % 2 ? first.url : second.url, 'grace', 1 + (i % 3)).then((r) =>
          r.status === 200 ? 1 + (i % 3) : 0,
        ),
      ),
    );
    const spent = costs.reduce((sum, cost) => sum + cost, 0);
    expect(spent).toBeLessThanOrEqual(20);
    expect(spent).toBeGreaterThanOrEqual(18); // refused only once no cost of 1–3 fitted
    expect(Number(await admin.get('sec:rl:burst:{burst:grace}:w60'))).toBe(spent);
  });
});

describe('Redis refusing the counters’ writes', () => {
  it('answers 503 + Retry-After for both windows, never 200 or 500, then counts again', async () => {
    const refusing = await startRedis({ password: PASSWORD });
    try {
      const guard = await guardFor(refusing);
      const { url } = await serve({
        redis: guard,
        name: 'oom',
        windows: [
          { points: 5, windowMs: 1_000 },
          { points: 50, windowMs: 60_000 },
        ],
      });
      expect((await hit(url, 'heidi')).status).toBe(200);
      const restore = await refuseWrites(refusing, 'OOM');
      try {
        for (let i = 0; i < 5; i++) {
          const res = await hit(url, 'heidi');
          expect(res.status).toBe(503);
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(await res.json()).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
        }
      } finally {
        await restore();
      }
      expect((await hit(url, 'heidi')).status).toBe(200);
    } finally {
      await refusing.stop();
    }
  });
});
