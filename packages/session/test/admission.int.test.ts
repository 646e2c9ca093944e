import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rateLimit } from '@sec/rate-limit';
import { createRedisGuard, type RedisGuard } from '@sec/redis-guard';
import {
  captureLogger,
  countDuring,
  PRODUCTION_ON_LOOPBACK,
  type RedisClusterHandle,
  type RedisServer,
  refuseWrites,
  type ServerStats,
  startCluster,
  startRedis,
} from '@sec/testing';
import express from 'express';
import { Redis } from 'ioredis';
import type { SessionManager } from '../src/index.js';
import { bearer, listen, manager } from './helpers.js';

// authenticate({ with: [limiter] }): the session lookup and every limiter's script go out in one
// pipelined write — one round trip on a standalone server, at most one per node on a Cluster —
// counted on the servers themselves (INFO), never timed. Precedence 503 > 401 > 429.

const log = captureLogger();
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

async function protectedApp(...handlers: express.RequestHandler[]): Promise<string> {
  const app = express();
  app.get('/me', ...handlers, (req, res) => {
    res.json({ user: req.auth?.userId ?? null });
  });
  const { server, url } = await listen(app);
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return url;
}

/** Runs the requests one after another, so each round trip is its own read on the server. */
async function inTurn(count: number, request: () => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await request()).status);
  return statuses;
}

describe('combined admission on a standalone Redis', () => {
  let redis: RedisServer;
  let guard: RedisGuard;
  let sessions: SessionManager;

  beforeAll(async () => {
    redis = await startRedis();
    guard = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    await guard.ready();
    sessions = manager({ redis: guard, logger: log.logger });
    closers.push(
      () => redis.stop(),
      () => guard.close(),
      () => sessions.close(),
    );
  });

  it('sends the session lookup and two limiters in one round trip per request', async () => {
    const perClient = rateLimit({ redis: guard, name: 'rt-ip', points: 1_000 });
    const perUser = rateLimit({
      redis: guard,
      name: 'rt-user',
      windows: [
        { points: 100, windowMs: 1_000 },
        { points: 1_000, windowMs: 60_000 },
      ],
      keyBy: (req) => req.get('authorization'),
    });
    const url = await protectedApp(sessions.authenticate({ with: [perClient, perUser] }));
    const { accessToken } = await sessions.create('ada');
    const request = () => fetch(`${url}/me`, { headers: bearer(accessToken) });
    expect((await request()).status).toBe(200); // the connection's first EVALs load the scripts

    let statuses: number[] = [];
    const combined = await countDuring(redis, async () => {
      statuses = await inTurn(20, request);
    });
    expect(statuses).toEqual(Array(20).fill(200));
    expect(combined.reads).toBe(20);
    expect(combined.calls.evalsha).toBe(60);

    // The same checks as separate middlewares wait for each other: three round trips.
    const separate = await protectedApp(perClient, perUser, sessions.authenticate());
    const apart = await countDuring(redis, () =>
      inTurn(20, () => fetch(`${separate}/me`, { headers: bearer(accessToken) })),
    );
    expect(apart.reads).toBe(60);
  });

  it('keeps to one round trip on an app’s own client without auto-pipelining (an explicit pipeline)', async () => {
    const own = createRedisGuard({
      client: new Redis({ port: redis.port, enableAutoPipelining: false }),
      environment: 'test',
      logger: log.logger,
    });
    await own.ready();
    const ownSessions = manager({ redis: own, logger: log.logger });
    closers.push(
      () => own.close(),
      () => ownSessions.close(),
    );
    const limiter = rateLimit({ redis: own, name: 'rt-own', points: 1_000 });
    const url = await protectedApp(ownSessions.authenticate({ with: [limiter] }));
    const { accessToken } = await ownSessions.create('bo');
    const request = () => fetch(`${url}/me`, { headers: bearer(accessToken) });
    expect((await request()).status).toBe(200);
    const stats = await countDuring(redis, () => inTurn(20, request));
    expect(stats.reads).toBe(20);
    expect(stats.calls.evalsha).toBe(40);
  });

  it('answers 401 over 429, 429 with the limiter headers for a valid session, and req.auth only when all pass', async () => {
    const limiter = rateLimit({ redis: guard, name: 'prec', points: 2, windowMs: 60_000 });
    const url = await protectedApp(sessions.authenticate({ with: [limiter] }));
    const { accessToken } = await sessions.create('grace');
    const ok = await fetch(`${url}/me`, { headers: bearer(accessToken) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ user: 'grace' });
    expect(ok.headers.get('ratelimit')).toBe('"prec";r=1;t=60');
    expect((await fetch(`${url}/me`)).status).toBe(401); // counted, refused by the session check
    const limited = await fetch(`${url}/me`, { headers: bearer(accessToken) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(50);
    // Over the limit and no valid token: the 401 wins.
    const both = await fetch(`${url}/me`, { headers: bearer(`${accessToken}x`) });
    expect(both.status).toBe(401);
    expect(both.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('lets an unauthenticated request through with optional: true, still limited', async () => {
    const limiter = rateLimit({ redis: guard, name: 'optional', points: 1, windowMs: 60_000 });
    const url = await protectedApp(sessions.authenticate({ optional: true, with: [limiter] }));
    const first = await fetch(`${url}/me`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ user: null });
    expect((await fetch(`${url}/me`)).status).toBe(429);
  });

  it('never lets more than the limit through a concurrent burst of 150, with slow keyBy', async () => {
    const limiter = rateLimit({
      redis: guard,
      name: 'burst',
      points: 25,
      windowMs: 60_000,
      keyBy: async (req) => {
        await sleep(Math.floor(Math.random() * 20));
        return req.get('x-client');
      },
    });
    const url = await protectedApp(sessions.authenticate({ with: [limiter] }));
    const { accessToken } = await sessions.create('burst-user');
    const statuses = await Promise.all(
      Array.from({ length: 150 }, () =>
        fetch(`${url}/me`, { headers: { ...bearer(accessToken), 'x-client': 'one' } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(25);
    expect(statuses.filter((s) => s === 429)).toHaveLength(125);
  });

  it('answers 503 + Retry-After when Redis refuses the limiter’s write, over 401 and 429', async () => {
    const limiter = rateLimit({ redis: guard, name: 'oom', points: 100, windowMs: 60_000 });
    const url = await protectedApp(sessions.authenticate({ with: [limiter] }));
    const { accessToken } = await sessions.create('oom-user');
    expect((await fetch(`${url}/me`, { headers: bearer(accessToken) })).status).toBe(200);
    const restore = await refuseWrites(redis, 'OOM');
    try {
      for (const headers of [bearer(accessToken), {}, bearer('not-a-token')]) {
        const res = await fetch(`${url}/me`, { headers });
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      }
    } finally {
      await restore();
    }
    expect((await fetch(`${url}/me`, { headers: bearer(accessToken) })).status).toBe(200);
  });

  it('refuses limiters on another guard at creation', () => {
    const other = createRedisGuard({ config: { url: redis.url }, environment: 'test', logger: log.logger });
    closers.push(() => other.close());
    const elsewhere = rateLimit({ redis: other, name: 'elsewhere' });
    expect(() => sessions.authenticate({ with: [elsewhere] })).toThrow(
      /"with" must hold steps created on the session manager's guard/,
    );
    expect(() => sessions.authenticate({ with: [{}] as never })).toThrow(/"with" must hold admission steps/);
  });
});

describe('combined admission on Redis Cluster', () => {
  const PASSWORD = 'session-Admission-Cluster-0123456789abc';
  let cluster: RedisClusterHandle;
  let guard: RedisGuard;
  let sessions: SessionManager;

  beforeAll(async () => {
    cluster = await startCluster({ masters: 3, password: PASSWORD });
    guard = createRedisGuard({ env: { ...PRODUCTION_ON_LOOPBACK, ...cluster.env }, logger: log.logger });
    await guard.ready(10_000);
    sessions = manager({ redis: guard, logger: log.logger });
    closers.push(
      () => cluster.stop(),
      () => guard.close(),
      () => sessions.close(),
    );
  }, 60_000);

  /** What every master did while `action` ran. */
  async function perMaster(action: () => Promise<unknown>): Promise<ServerStats[]> {
    const stats: ServerStats[] = [];
    const nest = async (index: number): Promise<void> => {
      const master = cluster.masters[index];
      if (!master) {
        await action();
        return;
      }
      stats[index] = await countDuring(master, () => nest(index + 1));
    };
    await nest(0);
    return stats;
  }

  it('sends at most one write per node per request, the session and limiter keys in different slots', async () => {
    const limiter = rateLimit({ redis: guard, name: 'cluster', points: 1_000, windowMs: 60_000 });
    const limiter2 = rateLimit({ redis: guard, name: 'cluster2', points: 1_000, windowMs: 60_000 });
    const url = await protectedApp(sessions.authenticate({ with: [limiter, limiter2] }));
    const { accessToken } = await sessions.create('lin');
    const request = () => fetch(`${url}/me`, { headers: bearer(accessToken) });
    // Warm every node's script cache on the guard's connections.
    for (let i = 0; i < 3; i++) expect((await request()).status).toBe(200);

    let statuses: number[] = [];
    const stats = await perMaster(async () => {
      statuses = await inTurn(10, request);
    });
    expect(statuses).toEqual(Array(10).fill(200));
    const scripts = stats.reduce((sum, s) => sum + (s.calls.evalsha ?? 0), 0);
    expect(scripts).toBe(30);
    // Each node that holds any of the three keys got one read per request, never more.
    const busy = stats.filter((s) => (s.calls.evalsha ?? 0) > 0);
    expect(busy.length).toBeGreaterThanOrEqual(2);
    for (const s of busy) expect(s.reads).toBe(10);
  });
});
