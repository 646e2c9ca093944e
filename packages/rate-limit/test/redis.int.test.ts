import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import { captureLogger, PRODUCTION_ON_LOOPBACK, type RedisServer, startRedis } from '@sec/testing';
import { Redis } from 'ioredis';
import { loginLimiter, rateLimit } from '../src/index.js';
import { appWith, type Listening, listen, median, waitUntil } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const clients: Redis[] = [];
// Production checks an app's own client too: a password, and the loopback relaxations declared.
const PASSWORD = 'rate-limit-Int-Password-0123456789abcdef';

/** An ioredis client with ioredis's own defaults (offline queue on), as many apps have. */
function clientFor(server: RedisServer): Redis {
  const client = new Redis({ host: '127.0.0.1', port: server.port, password: PASSWORD });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

async function productionGuard(server: RedisServer): Promise<RedisGuard> {
  const guard = createRedisGuard({
    client: clientFor(server),
    environment: 'production',
    env: PRODUCTION_ON_LOOPBACK,
    logger: captureLogger().logger,
  });
  await guard.ready();
  return guard;
}

async function allKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

let redis: RedisServer;
const servers: Listening[] = [];
async function serve(...args: Parameters<typeof appWith>): Promise<Listening> {
  const listening = await listen(appWith(...args));
  servers.push(listening);
  return listening;
}

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  for (const client of clients) client.disconnect();
  await redis?.stop();
});

describe('rateLimit on a real Redis', () => {
  it('answers the N+1th request with 429 and correct headers, in hash-tagged keys', async () => {
    const guard = await productionGuard(redis);
    const { url } = await serve(rateLimit({ redis: guard, name: 'api', points: 5, windowMs: 60_000 }));
    for (let i = 4; i >= 0; i--) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"api";q=5;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"api";r=${i};t=(60|59)$`));
    }
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(58);
    expect(limited.headers.get('ratelimit')).toMatch(/^"api";r=0;t=\d+$/);
    expect(await limited.json()).toMatchObject({ error: 'too_many_requests', limiter: 'api' });

    const keys = await allKeys(clientFor(redis), 'sec:rl:api:*');
    expect(keys).toEqual(['sec:rl:api:{api:ip:127.0.0.1}']);
    const ttl = await clientFor(redis).ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(50);
  });

  it('shares the count between two apps with their own clients', async () => {
    const [a, b] = await Promise.all([productionGuard(redis), productionGuard(redis)]);
    const first = await serve(rateLimit({ redis: a, name: 'shared-apps', points: 4 }));
    const second = await serve(rateLimit({ redis: b, name: 'shared-apps', points: 4 }));
    const statuses: number[] = [];
    for (const url of [first.url, second.url, first.url, second.url, first.url, second.url]) {
      statuses.push((await fetch(url)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  const built = existsSync(join(here, '../dist/index.cjs'));
  (built ? it : it.skip)('shares the count with another process (loaded with require())', async () => {
    const child: ChildProcess = spawn(process.execPath, [join(here, 'fixtures/second-process.cjs')], {
      env: {
        ...process.env,
        REDIS_PORT: String(redis.port),
        REDIS_PASSWORD: PASSWORD,
        LIMITER_NAME: 'shared-process',
        POINTS: '3',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          const match = /listening (\d+)/.exec(chunk.toString());
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`second process exited with ${code}`)));
      });
      const mine = await serve(
        rateLimit({ redis: await productionGuard(redis), name: 'shared-process', points: 3 }),
      );
      const theirs = `http://127.0.0.1:${port}`;
      const statuses: number[] = [];
      for (const url of [mine.url, theirs, mine.url, theirs, mine.url])
        statuses.push((await fetch(url)).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
    } finally {
      child.kill('SIGKILL');
    }
  });
  if (!built) console.warn('SKIPPED: the cross-process test needs the build (pnpm build) first');

  it('blocks for blockDurationMs in Redis', async () => {
    const guard = await productionGuard(redis);
    const { url } = await serve(
      rateLimit({ redis: guard, name: 'blocking', points: 1, windowMs: 10_000, blockDurationMs: 300_000 }),
    );
    expect((await fetch(url)).status).toBe(200);
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(290);
    const [key] = await allKeys(clientFor(redis), 'sec:rl:blocking:*');
    expect(await clientFor(redis).ttl(key!)).toBeGreaterThan(290);
  });

  it('stores a bounded key for a huge key value', async () => {
    const guard = await productionGuard(redis);
    const limiter = rateLimit({ redis: guard, name: 'huge', points: 1 });
    const huge = `{${'x'.repeat(100_000)}}`;
    expect((await limiter.consumeKey(huge)).outcome).toBe('allowed');
    expect((await limiter.consumeKey(huge)).outcome).toBe('limited');
    const [key] = await allKeys(clientFor(redis), 'sec:rl:huge:*');
    expect(key!.length).toBeLessThan(80);
    expect(key).toMatch(/^sec:rl:huge:\{huge:#[A-Za-z0-9_-]{43}\}$/);
  });

  it('blocks logins after N failures and resets on success, in Redis', async () => {
    const guard = await productionGuard(redis);
    const login = loginLimiter({
      redis: guard,
      name: 'login-int',
      maxConsecutiveFailsByUsernameAndIp: 3,
      blockDurationMs: 120_000,
    });
    const req = { ip: '2001:db8:1:2::5', headers: {} } as never;
    const settle = async (how: 'failed' | 'succeeded') => {
      const attempt = await login.reserve(req, 'alice');
      expect(attempt.outcome).toBe('allowed');
      if (attempt.outcome === 'allowed') await attempt[how]();
    };
    await settle('failed');
    await settle('failed');
    await settle('succeeded');
    for (let i = 0; i < 3; i++) await settle('failed');
    const refused = await login.reserve(req, 'alice');
    expect(refused).toMatchObject({ outcome: 'limited', reason: 'account_client' });
    expect(refused.outcome === 'limited' && refused.retryAfterSeconds).toBeGreaterThan(100);
    const keys = await allKeys(clientFor(redis), 'sec:rl:login-int.*');
    expect(keys.join('\n')).not.toContain('alice');
    expect(keys.some((k) => k.endsWith(':ip:2001:db8:1:0::/56}'))).toBe(true);
  });
});

describe('Redis killed and restarted (production)', () => {
  let crashing: RedisServer;
  beforeAll(async () => {
    crashing = await startRedis({ password: PASSWORD });
  });
  afterAll(async () => {
    await crashing?.stop();
  });

  it('answers 503 (not 200, not 500) within 50 ms while Redis is down, then limits again', async () => {
    const guard = await productionGuard(crashing);
    const { url } = await serve(rateLimit({ redis: guard, name: 'outage', points: 3 }));
    expect((await fetch(url)).status).toBe(200);

    await crashing.kill();
    await waitUntil('the client to notice', async () => guard.client!.status !== 'ready');
    const timings: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      const res = await fetch(url);
      timings.push(performance.now() - started);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.json()).toMatchObject({ error: 'service_unavailable', service: 'rate-limit' });
    }
    expect(median(timings)).toBeLessThan(50);
    expect(guard.breaker.state).toBe('open');

    await crashing.restart();
    await waitUntil('limits to resume', async () => (await fetch(url)).status !== 503);
    // The restarted Redis kept no data: the window starts over (one request counted above), and
    // the limit holds again.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(url)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });
});

describe('Redis that stops answering (production)', () => {
  it('answers 503 after the command timeout, then at once while the breaker is open', async () => {
    const client = clientFor(redis);
    const guard = createRedisGuard({
      client,
      environment: 'production',
      env: PRODUCTION_ON_LOOPBACK,
      commandTimeoutMs: 150,
      breaker: { failureThreshold: 2 },
      logger: captureLogger().logger,
    });
    await guard.ready();
    const { url } = await serve(rateLimit({ redis: guard, name: 'paused', points: 100 }));
    expect((await fetch(url)).status).toBe(200);
    const admin = clientFor(redis);
    // CLIENT PAUSE makes the server hold every client's commands for 2 s: a hung Redis, for real.
    await admin.client('PAUSE', 2_000);
    const timings: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = performance.now();
      const res = await fetch(url);
      timings.push(performance.now() - started);
      expect(res.status).toBe(503);
    }
    expect(guard.breaker.state).toBe('open');
    expect(Math.max(...timings.slice(0, 2))).toBeLessThan(1_000);
    expect(median(timings.slice(2))).toBeLessThan(50);
    await waitUntil('limits to resume', async () => (await fetch(url)).status === 200);
  });
});
