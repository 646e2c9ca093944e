import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  captureLogger,
  countDuring,
  PRODUCTION_ON_LOOPBACK,
  type RedisServer,
  startRedis,
} from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import { type RateLimiter, rateLimit } from '../src/index.js';
import { type Listening, listen, waitUntil } from './helpers.js';

// The flood shield: once Redis has refused a key with a full window, each process refuses it
// locally until the window resets. Checked across two processes sharing one Redis (the second
// loads the built package): no over-limit request gets through, a key under its limit is never
// refused, and a flooding client costs (almost) no Redis commands.

const here = dirname(fileURLToPath(import.meta.url));
const PASSWORD = 'rate-limit-Shield-Password-0123456789abc';
const built = existsSync(join(here, '../dist/index.cjs'));

let redis: RedisServer;
let guard: RedisGuard;
let mine: Listening;
let theirs: string;
let child: ChildProcess;
let limiter: RateLimiter;

beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD });
  guard = createRedisGuard({
    client: new Redis({ port: redis.port, password: PASSWORD }),
    environment: 'production',
    env: PRODUCTION_ON_LOOPBACK,
    logger: captureLogger().logger,
  });
  await guard.ready();
  limiter = rateLimit({
    redis: guard,
    name: 'flood',
    points: 5,
    windowMs: 2_000,
    keyBy: (req) => req.get('x-client'),
  });
  const app = express();
  app.use(limiter);
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  mine = await listen(app);
  if (!built) return;
  child = spawn(process.execPath, [join(here, 'fixtures/second-process.cjs')], {
    env: {
      ...process.env,
      REDIS_PORT: String(redis.port),
      REDIS_PASSWORD: PASSWORD,
      LIMITER_NAME: 'flood',
      POINTS: '5',
      WINDOW_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\d+)/.exec(chunk.toString());
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`second process exited with ${code}`)));
  });
  theirs = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await mine?.close();
  await guard?.close();
  await redis?.stop();
});

const hit = (url: string, client: string) =>
  fetch(url, { headers: { 'x-client': client } }).then((r) => r.status);

(built ? describe : describe.skip)('the flood shield across two processes', () => {
  it('refuses an over-limit key in both processes without Redis, and never a key under its limit', async () => {
    // Five requests spread over both processes fill the window; the next is refused by Redis in each.
    expect(
      await Promise.all([mine.url, theirs, mine.url, theirs, mine.url].map((u) => hit(u, 'mallory'))),
    ).toEqual([200, 200, 200, 200, 200]);
    expect(await hit(mine.url, 'mallory')).toBe(429);
    expect(await hit(theirs, 'mallory')).toBe(429);

    // The flood: 200 requests, concurrently, half to each process. All refused, nearly no commands.
    let statuses: number[] = [];
    const flood = await countDuring(redis, async () => {
      statuses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => hit(i % 2 ? mine.url : theirs, 'mallory')),
      );
    });
    expect(statuses.every((status) => status === 429)).toBe(true);
    expect(flood.commands / 200).toBeLessThanOrEqual(0.05);

    // Meanwhile a client under its limit is counted in Redis as usual, in both processes.
    expect(await Promise.all([mine.url, theirs, mine.url].map((u) => hit(u, 'trent')))).toEqual([
      200, 200, 200,
    ]);

    // Once the window has reset in Redis (this process sees a 200), the other process must not
    // refuse the key either: its shield ended no later than the real reset.
    await waitUntil('the window to reset', async () => (await hit(mine.url, 'mallory')) === 200);
    expect(await hit(theirs, 'mallory')).toBe(200);
  });

  it('lets the last points through and no more, under a concurrent burst in both processes', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 150 }, (_, i) => hit(i % 2 ? mine.url : theirs, 'niaj')),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
  });
});

describe('the flood shield in one process', () => {
  it('answers from the shield with the headers and Retry-After moved on, then asks Redis again', async () => {
    const shielded = rateLimit({ redis: guard, name: 'shield-one', points: 2, windowMs: 60_000 });
    await shielded.consumeKey('olivia');
    await shielded.consumeKey('olivia');
    const fromRedis = await shielded.consumeKey('olivia');
    const fromShield = await countDuring(redis, async () => {
      for (let i = 0; i < 50; i++) {
        const decision = await shielded.consumeKey('olivia');
        expect(decision).toMatchObject({ outcome: 'limited', info: { remaining: 0, limiter: 'shield-one' } });
        if (decision.outcome === 'limited' && fromRedis.outcome === 'limited') {
          expect(decision.retryAfterSeconds).toBeLessThanOrEqual(fromRedis.retryAfterSeconds);
        }
      }
    });
    expect(fromShield.commands).toBe(0);
    // reset() forgets the key here as well as in Redis.
    await shielded.reset('olivia');
    expect((await shielded.consumeKey('olivia')).outcome).toBe('allowed');
  });

  it('keeps at most floodShieldKeys keys, and 0 turns it off', async () => {
    const small = rateLimit({
      redis: guard,
      name: 'shield-small',
      points: 1,
      windowMs: 60_000,
      floodShieldKeys: 2,
    });
    for (const key of ['a', 'b', 'c']) {
      await small.consumeKey(key);
      await small.consumeKey(key);
    }
    // 'a' was the least recently refused: forgotten, so Redis is asked again (and refuses).
    const asked = await countDuring(redis, async () => {
      expect((await small.consumeKey('a')).outcome).toBe('limited');
      expect((await small.consumeKey('c')).outcome).toBe('limited');
    });
    expect(asked.calls.evalsha).toBe(1);

    const off = rateLimit({
      redis: guard,
      name: 'shield-off',
      points: 1,
      windowMs: 60_000,
      floodShieldKeys: 0,
    });
    await off.consumeKey('z');
    const unshielded = await countDuring(redis, async () => {
      for (let i = 0; i < 5; i++) expect((await off.consumeKey('z')).outcome).toBe('limited');
    });
    expect(unshielded.calls.evalsha).toBe(5);
  });

  it('does not remember a refusal that left room (a cost too big for what is left)', async () => {
    const costly = rateLimit({ redis: guard, name: 'shield-cost', points: 10, windowMs: 60_000 });
    expect((await costly.consumeKey('peggy', 8)).outcome).toBe('allowed');
    expect((await costly.consumeKey('peggy', 5)).outcome).toBe('limited');
    expect((await costly.consumeKey('peggy', 2)).outcome).toBe('allowed');
  });
});
if (!built) console.warn('SKIPPED: the two-process shield test needs the build (pnpm build) first');

describe('the flood shield and the memory fallback', () => {
  it('does not remember a refusal counted in memory during an outage (failClosed: false)', async () => {
    const flaky = await startRedis({ password: PASSWORD });
    const open = createRedisGuard({
      client: new Redis({ port: flaky.port, password: PASSWORD }),
      environment: 'production',
      env: PRODUCTION_ON_LOOPBACK,
      failClosed: false,
      logger: captureLogger().logger,
    });
    try {
      await open.ready();
      const limiter = rateLimit({ redis: open, name: 'shield-fallback', points: 1, windowMs: 60_000 });
      await flaky.kill();
      await waitUntil('the client to notice', async () => open.client!.status !== 'ready');
      expect((await limiter.consumeKey('quinn')).outcome).toBe('allowed');
      expect((await limiter.consumeKey('quinn')).outcome).toBe('limited');
      await flaky.restart();
      await open.ready();
      // Redis (restarted empty) has never seen quinn: the answer is Redis's, not the memory's.
      expect((await limiter.consumeKey('quinn')).outcome).toBe('allowed');
    } finally {
      await open.close();
      await flaky.stop();
    }
  });
});
